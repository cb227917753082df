import Foundation
import Store

/// The replay of imported history runs the detectors hour after hour over windows of several hours:
/// each window's per-hour reads are made once and kept while the windows slide over them. Used only
/// when the data of past hours no longer changes (the replay after an import), and only for
/// windows on whole hours; anything else reads the store directly.
public final class HourlyCache: @unchecked Sendable {
    private let lock = NSLock()
    private var senderDomains: [Int64: [String: (total: Int, bounced: Int)]] = [:]
    private var failed: [Int64: [AppDatabase.FailedDelivery]] = [:]
    /// The provider of each failure reply seen: a reply stays in every window that covers its hour.
    private var providers: [String: String?] = [:]
    /// Hours kept before the window being read (windows slide forward: older hours are read again
    /// only by a detector with a longer window). At 10M lines of log, an hour of failed deliveries
    /// holds about half a MB.
    let keep: Int64
    /// What the replay found, written at its end: the replay may run while the import's last
    /// transaction (the search indexes' build) holds the store's write lock. The detectors see these
    /// as stored (`ReplayCache.hasInsight`).
    private var held: [Insight] = []

    public init(keepHours: Int64 = 6) {
        keep = keepHours
    }

    static func hours(_ from: Int64, _ to: Int64) -> Range<Int64>? {
        guard from % 3600 == 0, to % 3600 == 0, from < to else { return nil }
        return (from / 3600)..<(to / 3600)
    }

    private func evict(before hour: Int64) {
        senderDomains = senderDomains.filter { $0.key >= hour - keep }
        failed = failed.filter { $0.key >= hour - keep }
    }

    func outboundBySenderDomain(_ db: AppDatabase, from: Int64, to: Int64) throws -> [String: (total: Int, bounced: Int)] {
        guard let hours = Self.hours(from, to) else { return try db.outboundBySenderDomain(from: from, to: to) }
        return try lock.withLock {
            if senderDomains.count > hours.count + Int(keep) { evict(before: hours.lowerBound) }
            var out: [String: (total: Int, bounced: Int)] = [:]
            for h in hours {
                let piece: [String: (total: Int, bounced: Int)]
                if let p = senderDomains[h] { piece = p } else {
                    piece = try db.outboundBySenderDomain(from: h * 3600, to: (h + 1) * 3600)
                    senderDomains[h] = piece
                }
                for (d, v) in piece {
                    let o = out[d] ?? (0, 0)
                    out[d] = (o.total + v.total, o.bounced + v.bounced)
                }
            }
            return out
        }
    }

    /// Holds an insight found (writing it, the store keeps one insight per key).
    func hold(_ insight: Insight) {
        lock.withLock { held.append(insight) }
    }

    /// Whether an insight held is of `kind`, from `since` on, with a key beginning with `keyPrefix`.
    func holds(kind: String, keyPrefix: String?, since: Int64) -> Bool {
        lock.withLock {
            held.contains { $0.kind == kind && $0.time >= since && (keyPrefix.map($0.key.hasPrefix) ?? true) }
        }
    }

    /// The insights held, in the order found; none are held afterwards.
    func takeHeld() -> [Insight] {
        lock.withLock {
            defer { held.removeAll() }
            return held
        }
    }

    /// The provider whose block reply `reply` is (BlockedByRemote), matched once per replay.
    func provider(of reply: String, _ match: (String) -> String?) -> String? {
        lock.withLock {
            if let known = providers[reply] { return known }
            // Bounded: replies that name queue ids or times are all different.
            if providers.count >= 20_000 { providers.removeAll(keepingCapacity: true) }
            let p = match(reply)
            providers[reply] = p
            return p
        }
    }

    func failedDeliveries(_ db: AppDatabase, from: Int64, to: Int64) throws -> [AppDatabase.FailedDelivery] {
        let limit = AppDatabase.failedDeliveriesLimit
        guard let hours = Self.hours(from, to) else { return try db.failedDeliveries(from: from, to: to, limit: limit) }
        return try lock.withLock {
            if failed.count > hours.count + Int(keep) { evict(before: hours.lowerBound) }
            var out: [AppDatabase.FailedDelivery] = []
            for h in hours {
                if let p = failed[h] { out += p } else {
                    let p = try db.failedDeliveries(from: h * 3600, to: (h + 1) * 3600, limit: limit)
                    failed[h] = p
                    out += p
                }
            }
            // As one read of the window would return them: by time, at most `limit`.
            out.sort { $0.time < $1.time }
            return Array(out.prefix(limit))
        }
    }
}
