import Foundation
import Ingest
import PostfixLog
import Store
import Tracking

/// Wires the workspace, the sources and the importer together.
struct Server {
    var config: Configuration

    func run() throws {
        let db = try AppDatabase.open(workspace: config.workspace)
        let domains = try loadDomainMapping(workspace: config.workspace)
        let year = config.logStartingYear ?? Calendar(identifier: .gregorian).component(.year, from: Date())
        let importer = try Importer(db: db, format: config.logFormat, startingYear: year, domains: domains)
        if config.stdin {
            let summary = try importer.importStream(path: "-", source: "stdin")
            print("lightmeter: \(summary.description)")
        }
        let deleted = try db.applyRetention(days: config.dataRetentionDays)
        if deleted > 0 {
            print("lightmeter: retention of \(config.dataRetentionDays) days: deleted \(deleted) old messages and rejections")
        }
        if !config.importOnly {
            printError("lightmeter: standard input ended; nothing more to follow")
        }
    }
}

/// The built-in provider domain groups, with `domain_mapping.json` of the workspace applied.
func loadDomainMapping(workspace: String) throws -> DomainMapping {
    let path = workspace + "/domain_mapping.json"
    guard FileManager.default.fileExists(atPath: path) else { return DomainMapping() }
    do {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let groups = try JSONDecoder().decode([String: [String]].self, from: data)
        return DomainMapping(overriding: groups)
    } catch {
        throw ValidationFailure("\(path): \(error)")
    }
}

struct ValidationFailure: Error, CustomStringConvertible {
    var description: String
    init(_ s: String) { description = s }
}
