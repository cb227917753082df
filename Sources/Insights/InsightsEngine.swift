import Foundation
import Logging
import ServiceLifecycle
import Store

/// Runs the detectors: every minute of the clock it is given (a `Service` of the application), and over
/// imported history (`replay`), so that a first import of months of logs shows the insights those
/// months would have produced (archived, but for the last day's).
public final class InsightsEngine: Service, @unchecked Sendable {
    public let db: AppDatabase
    public let detectors: [any Detector]
    let now: @Sendable () -> Int64
    let logger: Logger
    private let lock = NSLock()
    private var lastRun: [String: Int64] = [:]
    /// The rounds of `run` block (the store's reads, blocklist lookups that wait for DNS timeouts):
    /// they run here, not on the threads Swift's tasks share with the web server.
    private let rounds = DispatchQueue(label: "lightmeter.insights")
    /// Set on `rounds` (tests check that a round runs there).
    static let roundKey = DispatchSpecificKey<Bool>()

    public static let defaultDetectors: [any Detector] = [HighBounceRate(), MailInactivity(), DeferredPiling(), BlockedByRemote(), AuthAttack(), BlockedWeekly(), DNSBLListed()]

    public init(db: AppDatabase, detectors: [any Detector] = InsightsEngine.defaultDetectors,
                now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }, logger: Logger = Logger(label: "insights")) {
        self.db = db
        self.detectors = detectors
        self.now = now
        self.logger = logger
        rounds.setSpecific(key: Self.roundKey, value: true)
    }

    /// Runs the detectors that are due at `time`; stores what is new and returns it (a replay's
    /// `cache` holds it instead, for the replay to write at its end). `archiveBefore`: insights older
    /// than this are stored archived (history).
    @discardableResult
    public func runOnce(at time: Int64, archiveBefore: Int64? = nil, historyOnly: Bool = false,
                        cache: HourlyCache? = nil) throws -> [Insight] {
        var settings = DetectorSettings.load(db)
        settings.replay = ReplayCache(cache)
        var created: [Insight] = []
        for d in detectors where !historyOnly || d.historical {
            let due = lock.withLock { () -> Bool in
                if let last = lastRun[d.kind], time - last < d.interval, time >= last { return false }
                lastRun[d.kind] = time
                return true
            }
            guard due else { continue }
            for var i in try d.detect(at: time, db: db, settings: settings) {
                if let cut = archiveBefore, i.time < cut { i.active = false }
                if let cache {
                    // A replay writes what it found at its end.
                    cache.hold(i)
                } else if let saved = try db.insertInsight(i) {
                    created.append(saved)
                }
            }
        }
        return created
    }

    /// Replays the detectors over [from, to] hour by hour (log time), then writes what they found and
    /// an import summary. What was replayed is remembered: a later call goes on from there, also after
    /// `shouldStop` ended it early (a shutdown does not wait for months of history).
    ///
    /// Until its end it only reads: it may run while the import's last transaction (the building of
    /// the search indexes, which it does not use) holds the store's write lock.
    @discardableResult
    public func replayImported(step: Int64 = 3600, shouldStop: () -> Bool = { false }) throws -> Int {
        guard let newest = try db.newestTime(), let oldest = try db.oldestTime() else { return 0 }
        let mark = try db.meta("insights_replayed_until").flatMap { Int64($0) }
        let start = max(oldest, mark ?? oldest)
        guard newest > start else { return 0 }
        lock.withLock { lastRun.removeAll() }
        var count = 0
        let cache = HourlyCache()
        var t = (start / step + 1) * step
        while t <= newest + step {
            if shouldStop() {
                lock.withLock { lastRun.removeAll() }
                count += try write(cache.takeHeld())
                try db.setMeta("insights_replayed_until", String(t - step))
                return count
            }
            try runOnce(at: t, archiveBefore: newest - 86400, historyOnly: true, cache: cache)
            t += step
        }
        lock.withLock { lastRun.removeAll() }
        count += try write(cache.takeHeld())
        // After the first import replayed to its end (even over several runs): its summary, once.
        if try db.meta("insights_import_summary") == nil {
            let c = try db.countsByDirection(from: oldest, to: newest + 1)
            var details: [String: String] = ["from": String(oldest), "to": String(newest)]
            var messages = 0
            for (direction, statuses) in c {
                for (status, n) in statuses where status != "returned" && status != "rejected" {
                    details[direction + "_" + status] = String(n)
                    messages += n
                }
            }
            details["rejected"] = String(c.values.reduce(0) { $0 + ($1["rejected"] ?? 0) })
            details["insights"] = String(count)
            let days = max(1, (newest - oldest + 86399) / 86400)
            _ = try db.insertInsight(Insight(time: newest, kind: "import_summary", category: "local", rating: "info",
                                             title: "Imported \(messages) deliveries over \(days) days; \(count) insights found in them",
                                             details: details, key: "import_summary"))
            try db.setMeta("insights_import_summary", String(newest))
        }
        try db.setMeta("insights_replayed_until", String(newest))
        return count
    }

    /// Stores insights (those whose key is stored already are not); returns how many were stored.
    private func write(_ insights: [Insight]) throws -> Int {
        var n = 0
        for i in insights where try db.insertInsight(i) != nil { n += 1 }
        return n
    }

    public func run() async throws {
        // A graceful shutdown cancels the wait between two rounds.
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let made = try await withCheckedThrowingContinuation { (c: CheckedContinuation<[Insight], any Error>) in
                        self.rounds.async { c.resume(with: Result { try self.runOnce(at: self.now()) }) }
                    }
                    for i in made { self.logger.notice("insight: \(i.title)", metadata: ["kind": .string(i.kind)]) }
                } catch {
                    self.logger.error("insights: \(error)")
                }
                try await Task.sleep(for: .seconds(60))
            }
        }
    }
}
