import Dispatch
import Foundation
import Guard
import Auth
import Insights
import Ingest
import Logging
import PostfixLog
import ServiceLifecycle
import Store
import Tracking
import Web

#if os(Linux)
/// glibc's `malloc_trim` (not in Swift's Glibc module): gives the heap's free pages back to the system.
@_silgen_name("malloc_trim") func mallocTrim(_ pad: Int) -> Int32
/// glibc's `mallopt`.
@_silgen_name("mallopt") func mallopt(_ param: Int32, _ value: Int32) -> Int32

/// glibc's settings of its heaps for an import, and back (`importThenReplay`).
enum MallocTuning {
    /// `M_TOP_PAD`: the free memory a heap keeps at its top when it shrinks (glibc: 128 KB).
    static let topPad: Int32 = -2
    /// `M_MMAP_THRESHOLD`: blocks from this size up get pages of their own (glibc: 128 KB, rising
    /// with use up to 32 MB; any setting fixes it).
    static let mmapThreshold: Int32 = -3

    static func forImport() {
        _ = mallopt(mmapThreshold, 32 << 20)
        _ = mallopt(topPad, 64 << 20)
    }

    /// glibc's starting values, which the web server and live imports keep from then on.
    static func restore() {
        _ = mallopt(topPad, 128 << 10)
        _ = mallopt(mmapThreshold, 128 << 10)
    }
}
#endif

/// Wires the workspace, the sources, the importer and the web server together.
struct Server {
    var config: Configuration

    func run() async throws {
        let db = try AppDatabase.open(workspace: config.workspace)
        let domains = try loadDomainMapping(workspace: config.workspace)
        let year = config.logStartingYear ?? Calendar(identifier: .gregorian).component(.year, from: Date())
        let importer = try Importer(db: db, format: config.logFormat, startingYear: year, domains: domains)
        let health = IngestHealth(progress: importer.progress)
        var insightsLogger = Logger(label: "lightmeter")
        insightsLogger.logLevel = config.verbose ? .debug : .info
        let insights = InsightsEngine(db: db, logger: insightsLogger)
        if config.importOnly {
            try ingest(importer, db: db, health: health, insights: insights, stop: StopFlag.onTerminationSignals())
            db.waitForCheckpoint()
            return
        }
        // Ingestion, the web server, the insights and the notifications: one ServiceGroup; SIGTERM and SIGINT
        // shut them down gracefully.
        var logger = Logger(label: "lightmeter")
        logger.logLevel = config.verbose ? .debug : .info
        if !["127.0.0.1", "::1", "localhost"].contains(config.listenHost) {
            logger.warning("serving plain HTTP on \(config.listenHost):\(config.listenPort): put a reverse proxy with TLS in front, or listen on 127.0.0.1")
        }
        var policy = AccountPolicy()
        policy.allowMultipleUsers = config.allowMultipleUsers
        let webConfig = WebConfiguration(host: config.listenHost, port: config.listenPort, version: Lightmeter.version,
                                         proxy: ProxyPolicy(trusted: config.trustedProxies, noProxy: config.noProxy), policy: policy,
                                         assetsDir: config.assetsDir, policyListen: config.policyListen)
        let deps = try await WebDependencies(db: db, health: health, config: webConfig)
        let web = buildApplication(webConfig, deps: deps, logger: logger,
                                   onServerRunning: { port in printError("lightmeter: listening on \(config.listenHost):\(port)") })
        let ingestion = IngestService { stop in try ingest(importer, db: db, health: health, insights: insights, stop: stop) }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: ingestion), .init(service: web), .init(service: insights), .init(service: deps.notifier),
            .init(service: GuardService(guard: deps.guardian)),
        ]
        if let host = config.policyHost {
            let secrets = try PolicySecrets.load(db)
            let policy = buildPolicyApplication(guard: deps.guardian, apiKey: secrets.apiKey, host: host, port: config.policyPort, logger: logger,
                                                onServerRunning: { port in printError("lightmeter: Dovecot policy endpoint on \(host):\(port)") })
            services.append(.init(service: policy))
        }
        let group = ServiceGroup(configuration: .init(
            services: services,
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
        printError("lightmeter: " + cli.t("stopped"))
    }

    /// Reads the configured sources; without -importonly, follows them until `stop` is set.
    func ingest(_ importer: Importer, db: AppDatabase, health: IngestHealth, insights: InsightsEngine, stop: StopFlag) throws {
        importer.shouldStop = { stop.isSet }
        let display = ProgressDisplay(progress: importer.progress)
        if config.stdin {
            display.start()
            try importThenReplay(importer, db: db, insights: insights, stop: stop) {
                defer { display.stop() }
                return try importer.importStream(path: "-", source: "stdin")
            }
            health.beat()
        }
        if !config.watchDirs.isEmpty {
            try reportLiveFiles()
            display.start()
            try importThenReplay(importer, db: db, insights: insights, stop: stop) {
                defer { display.stop() }
                return try importer.importDirectories(config.watchDirs, patterns: config.logFilePatterns)
            }
            health.beat()
            if !config.importOnly {
                // Follow: look again twice a second; rotated files are recognised by their first line.
                var lastRetention = Date()
                while !stop.isSet {
                    usleep(500_000)
                    if stop.isSet { break }
                    do {
                        let s = try importer.importDirectories(config.watchDirs, patterns: config.logFilePatterns)
                        if s.lines > 0 && config.verbose { print("lightmeter: \(s.description)") }
                        health.beat()
                    } catch {
                        health.failed("\(error)")
                        throw error
                    }
                    if Date().timeIntervalSince(lastRetention) > 3600 {
                        try db.applyRetention(days: retentionDays(db))
                        lastRetention = Date()
                    }
                }
            }
        }
        if config.socket != nil || !config.syslog.isEmpty {
            let queue = LineQueue()
            let network = NetworkSource(queue: queue)
            if let a = config.socket { try network.listen(a, syslog: false) }
            for a in config.syslog { try network.listen(a, syslog: true) }
            printError("lightmeter: " + cli.t("receiving logs on {{addresses}}", ["addresses": ([config.socket].compactMap { $0 } + config.syslog).map { "\($0)" }.joined(separator: ", ")]))
            health.beat()
            // When asked to stop, the sockets close first, then what they delivered is imported to the end.
            let summary = try importer.importQueue(queue, source: "network", stop: {
                if stop.isSet { network.close() } else { health.beat() }
                return false
            })
            print("lightmeter: \(summary.description)")
        }
        let days = retentionDays(db)
        let deleted = try db.applyRetention(days: days)
        if deleted > 0 {
            print("lightmeter: " + cli.t("retention of {{days}} days: deleted {{count}} old messages and rejections", ["days": String(days), "count": String(deleted)]))
        }
        // Standard input has ended: nothing more to read, but the web server goes on.
        if !config.importOnly && config.watchDirs.isEmpty && config.socket == nil && config.syslog.isEmpty {
            while !stop.isSet {
                health.beat()
                usleep(500_000)
            }
        }
    }

    /// Runs an import, then replays the insights over it: the insights the imported history would have
    /// produced (archived, but for the last day's). The replay starts as soon as the import's last
    /// batch is written, alongside the building of the search indexes (which it does not use), and
    /// the WAL is copied into the database meanwhile (closing does not: AppDatabase.open). What the
    /// building of the indexes and the replay wrote is copied too, in the background, when the process
    /// goes on. `-importonly` copies nothing after the import: what was written since the last copy
    /// made during it (at most 32 MB of log), the indexes and the replay stay in the WAL, part of the
    /// database as after any commit, for the next checkpoint; the copy would have taken the core that
    /// the replay needs while the indexes are built (0.664 s against 0.682 s for 1M lines).
    func importThenReplay(_ importer: Importer, db: AppDatabase, insights: InsightsEngine, stop: StopFlag,
                          _ run: () throws -> ImportSummary) throws {
        let replay = Replay(insights: insights, stop: stop)
        #if os(Linux)
        // While the import runs, glibc's heaps keep up to 64 MB free at their top, and blocks up to
        // 32 MB come from them (not from mmap): each batch written frees thousands of objects and a few
        // large buffers, and with glibc's defaults (128 KB) the heaps gave those pages back after every
        // batch, then took them again (zeroed, a page fault each) for the next. 2-3% of the import's
        // time (BENCHMARKS.md, session 13); the peak is the same (what is kept was in use just before).
        MallocTuning.forImport()
        defer { MallocTuning.restore() }
        #endif
        importer.onWritten = {
            // What the import freed goes back to the system before the replay and the building of the
            // indexes take their own memory (the peak stays that of the import: 100 MB at most).
            #if os(Linux)
            MallocTuning.restore()
            _ = mallocTrim(0)
            #endif
            if !config.importOnly { db.checkpointAfterImport() }
            replay.start()
        }
        defer { importer.onWritten = nil }
        let summary: ImportSummary
        do {
            summary = try run()
        } catch {
            _ = replay.wait()
            throw error
        }
        print("lightmeter: \(summary.description)")
        replay.start()
        switch replay.wait() {
        case .success(let n):
            if n > 0 { print("lightmeter: " + cli.t("{{count}} insights found in the imported logs (lightmeter insights lists them)", ["count": String(n)])) }
        case .failure(let error):
            printError("lightmeter: " + cli.t("insights over the imported logs: {{error}}", ["error": "\(error)"]))
        }
        // What the building of the indexes and the replay wrote.
        if summary.lines > 0 && !config.importOnly { db.checkpointAfterImport() }
    }

    /// One replay of the insights on a thread of its own, started once.
    final class Replay: @unchecked Sendable {
        let insights: InsightsEngine
        let stop: StopFlag
        private let lock = NSLock()
        private let done = DispatchGroup()
        private var started = false
        private var result: Result<Int, any Error> = .success(0)

        init(insights: InsightsEngine, stop: StopFlag) {
            self.insights = insights
            self.stop = stop
        }

        func start() {
            guard lock.withLock({ () -> Bool in
                defer { started = true }
                return !started
            }) else { return }
            // On a thread of lower priority: the import's end waits for the search indexes, not for this.
            done.enter()
            BackgroundThread.start(name: "lightmeter.replay") { [self] in
                defer { done.leave() }
                let r = Result { try insights.replayImported(shouldStop: { self.stop.isSet }) }
                lock.withLock { result = r }
            }
        }

        /// Waits for the replay, if it was started.
        func wait() -> Result<Int, any Error> {
            done.wait()
            return lock.withLock { result }
        }
    }

    /// -data_retention_days when given, else the setting, else 90.
    func retentionDays(_ db: AppDatabase) -> Int {
        config.dataRetentionDays ?? (try? db.setting("general.data_retention_days")).flatMap { $0.flatMap { Int($0) } } ?? 90
    }

    /// Says clearly when a watched directory has no live log file, and what it has instead.
    func reportLiveFiles() throws {
        for dir in config.watchDirs {
            let (families, unreadable) = try DirectoryScanner.scan(directory: dir, patterns: config.logFilePatterns)
            for u in unreadable { printError("lightmeter: " + cli.t("cannot read {{path}}", ["path": u])) }
            if families.isEmpty {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: dir))?.sorted().prefix(20).joined(separator: ", ") ?? ""
                printError("lightmeter: " + cli.t("no log file matching {{patterns}} in {{dir}}; it holds: {{names}}", ["patterns": config.logFilePatterns.joined(separator: ", "), "dir": dir, "names": names.isEmpty ? cli.t("nothing") : names]))
            } else if !families.contains(where: { $0.files.contains(where: \.isLive) }) {
                let found = families.flatMap { $0.files.map(\.name) }.joined(separator: ", ")
                printError("lightmeter: " + cli.t("no live log file ({{patterns}}) in {{dir}}; found only {{found}}", ["patterns": config.logFilePatterns.joined(separator: ", "), "dir": dir, "found": found]))
            }
        }
    }
}

/// Ingestion as a service of the group: its blocking loop runs on a thread of its own, and a graceful
/// shutdown asks it to stop after the batch in hand.
struct IngestService: Service {
    let work: @Sendable (StopFlag) throws -> Void

    func run() async throws {
        let stop = StopFlag()
        try await withGracefulShutdownHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                Thread {
                    do {
                        try work(stop)
                        c.resume()
                    } catch {
                        c.resume(throwing: error)
                    }
                }.start()
            }
        } onGracefulShutdown: {
            stop.set()
        }
    }
}

/// Set by a graceful shutdown, or by SIGTERM or SIGINT when no service group handles them.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    private var sources: [any DispatchSourceSignal] = []

    var isSet: Bool { lock.withLock { flag } }
    func set() { lock.withLock { flag = true } }

    static func onTerminationSignals() -> StopFlag {
        let stop = StopFlag()
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { stop.set() }
            source.resume()
            stop.sources.append(source)
        }
        return stop
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
