import ArgumentParser
import PostfixLog
import Store

/// The workspace and the period the tools (`export`, `report`) read.
struct PeriodOptions: ParsableArguments {
    @Option(name: .customLong("workspace", withSingleDash: true),
            help: "The workspace directory (env: LIGHTMETER_WORKSPACE; default /var/lib/lightmeter_workspace).")
    var workspace: String?

    @Option(name: .customLong("from", withSingleDash: true), help: "First day, YYYY-MM-DD (UTC).")
    var from: String?

    @Option(name: .customLong("to", withSingleDash: true), help: "Last day, YYYY-MM-DD (UTC), included.")
    var to: String?

    func validate() throws {
        if let f = from, parseDay(f) == nil { throw ValidationError("-from must be a date as YYYY-MM-DD") }
        if let t = to, parseDay(t) == nil { throw ValidationError("-to must be a date as YYYY-MM-DD") }
    }

    /// Unix times: the start of `-from` (inclusive) and the end of `-to` (exclusive).
    var bounds: (from: Int64?, to: Int64?) {
        (from.flatMap(parseDay), to.flatMap(parseDay).map { $0 + 86400 })
    }

    func open() throws -> AppDatabase { try openExistingWorkspace(workspace) }
}

/// `YYYY-MM-DD` as the Unix time of its midnight (UTC).
func parseDay(_ s: String) -> Int64? {
    let parts = s.split(separator: "-")
    guard parts.count == 3, let y = Int64(parts[0]), let m = Int64(parts[1]), let d = Int64(parts[2]),
          (1970...9999).contains(y), (1...12).contains(m), (1...31).contains(d) else { return nil }
    return daysFromCivil(y, m, d) * 86400
}
