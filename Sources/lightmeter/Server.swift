import Dispatch
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
        let display = ProgressDisplay(progress: importer.progress)
        if config.stdin {
            display.start()
            defer { display.stop() }
            let summary = try importer.importStream(path: "-", source: "stdin")
            print("lightmeter: \(summary.description)")
        }
        if !config.watchDirs.isEmpty {
            try reportLiveFiles()
            display.start()
            let summary = try importer.importDirectories(config.watchDirs, patterns: config.logFilePatterns)
            display.stop()
            print("lightmeter: \(summary.description)")
            if !config.importOnly {
                // Follow: look again every second; rotated files are recognised by their first line.
                // SIGTERM or SIGINT end the loop after the batch in hand is written.
                let stop = StopFlag.onTerminationSignals()
                var lastRetention = Date()
                while !stop.isSet {
                    usleep(500_000)
                    if stop.isSet { break }
                    let s = try importer.importDirectories(config.watchDirs, patterns: config.logFilePatterns)
                    if s.lines > 0 && config.verbose { print("lightmeter: \(s.description)") }
                    if Date().timeIntervalSince(lastRetention) > 3600 {
                        try db.applyRetention(days: config.dataRetentionDays)
                        lastRetention = Date()
                    }
                }
                print("lightmeter: stopped")
            }
        }
        if config.socket != nil || !config.syslog.isEmpty {
            let queue = LineQueue()
            let network = NetworkSource(queue: queue)
            if let a = config.socket { try network.listen(a, syslog: false) }
            for a in config.syslog { try network.listen(a, syslog: true) }
            printError("lightmeter: listening on \(([config.socket].compactMap { $0 } + config.syslog).map { "\($0)" }.joined(separator: ", "))")
            let stop = StopFlag.onTerminationSignals()
            // On SIGTERM the sockets close first, then what they delivered is imported to the end.
            let summary = try importer.importQueue(queue, source: "network", stop: {
                if stop.isSet { network.close() }
                return false
            })
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

extension Server {
    /// Says clearly when a watched directory has no live log file, and what it has instead.
    func reportLiveFiles() throws {
        for dir in config.watchDirs {
            let (families, unreadable) = try DirectoryScanner.scan(directory: dir, patterns: config.logFilePatterns)
            for u in unreadable { printError("lightmeter: cannot read \(u)") }
            if families.isEmpty {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.sorted().prefix(20).joined(separator: ", ") ?? ""
                printError("lightmeter: no log file matching \(config.logFilePatterns.joined(separator: ", ")) in \(dir); it holds: \(names.isEmpty ? "nothing" : names)")
            } else if !families.contains(where: { $0.files.contains(where: \.isLive) }) {
                let found = families.flatMap { $0.files.map(\.name) }.joined(separator: ", ")
                printError("lightmeter: no live log file (\(config.logFilePatterns.joined(separator: ", "))) in \(dir); found only \(found)")
            }
        }
    }
}

/// Set by SIGTERM or SIGINT.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var set = false
    private var sources: [any DispatchSourceSignal] = []

    var isSet: Bool { lock.withLock { set } }

    static func onTerminationSignals() -> StopFlag {
        let flag = StopFlag()
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { flag.lock.withLock { flag.set = true } }
            source.resume()
            flag.sources.append(source)
        }
        return flag
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
