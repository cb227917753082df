import ArgumentParser

/// The server: imports and follows logs, serves the UI. Options mirror the Go original's flags.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Import and follow Postfix logs (the default command)."
    )

    @Flag(name: [.customLong("version", withSingleDash: true)], help: "Print the version and exit.")
    var version = false

    func run() throws {
        if version {
            print("lightmeter \(Lightmeter.version)")
            return
        }
        throw ValidationError("nothing to do yet: use a subcommand (see -help)")
    }
}
