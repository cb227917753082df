import Foundation
import Store

/// Thresholds of the detectors, from the Settings page (insights.*) or their defaults.
public struct DetectorSettings: Sendable, Equatable {
    public var bounceRatePercent = 5.0
    public var bounceWindow: Int64 = 6 * 3600
    /// Fewer outbound deliveries than this in the window say nothing about a rate.
    public var bounceMinimum = 20
    public var inactivityHours = 24
    public var deferredCount = 100
    public var deferredAgeHours = 24
    public var blockedWindow: Int64 = 6 * 3600
    /// Failed logins in an hour that make an attack.
    public var authAttackFailures = 100
    public var authAttackPerAddress = 30
    /// The address the server sends from (Settings: Postfix public IP), looked up in `dnsbls`.
    public var publicIP: String?
    public var dnsbls = DetectorSettings.defaultDNSBLs
    /// Set during a replay of imported history: reads of whole past hours are made once.
    public var replay = ReplayCache()
    public static let defaultDNSBLs = ["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org", "psbl.surriel.com"]

    public init() {}

    public static func load(_ db: AppDatabase) -> DetectorSettings {
        var s = DetectorSettings()
        let stored = (try? db.settings()) ?? [:]
        if let v = stored["insights.bounce_rate_percent"].flatMap(Double.init) { s.bounceRatePercent = v }
        if let v = stored["insights.inactivity_hours"].flatMap(Int.init) { s.inactivityHours = v }
        if let v = stored["insights.deferred_count"].flatMap(Int.init) { s.deferredCount = v }
        if let v = stored["insights.deferred_age_hours"].flatMap(Int.init) { s.deferredAgeHours = v }
        if let v = stored["insights.auth_attack_failures"].flatMap(Int.init) { s.authAttackFailures = v }
        if let v = stored["insights.auth_attack_per_address"].flatMap(Int.init) { s.authAttackPerAddress = v }
        s.publicIP = stored["general.postfix_public_ip"]
        if let v = stored["insights.dnsbls"] {
            s.dnsbls = v.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
        }
        return s
    }
}

/// The cache of a replay, if any; not a setting (two settings are equal whatever their caches).
public struct ReplayCache: Sendable, Equatable {
    public var hourly: HourlyCache?
    public init(_ hourly: HourlyCache? = nil) { self.hourly = hourly }
    public static func == (a: ReplayCache, b: ReplayCache) -> Bool { true }

    func outboundBySenderDomain(_ db: AppDatabase, from: Int64, to: Int64) throws -> [String: (total: Int, bounced: Int)] {
        if let h = hourly { return try h.outboundBySenderDomain(db, from: from, to: to) }
        return try db.outboundBySenderDomain(from: from, to: to)
    }

    func failedDeliveries(_ db: AppDatabase, from: Int64, to: Int64) throws -> [AppDatabase.FailedDelivery] {
        if let h = hourly { return try h.failedDeliveries(db, from: from, to: to) }
        return try db.failedDeliveries(from: from, to: to)
    }

    /// Whether an insight of `kind` (with a key beginning with `keyPrefix`) was found from `since` on:
    /// stored, or found by the replay and not written yet.
    func hasInsight(_ db: AppDatabase, kind: String, keyPrefix: String? = nil, since: Int64) throws -> Bool {
        if let h = hourly, h.holds(kind: kind, keyPrefix: keyPrefix, since: since) { return true }
        return try db.hasInsight(kind: kind, keyPrefix: keyPrefix, since: since)
    }
}

/// Looks at the store as of a time and says what is wrong.
public protocol Detector: Sendable {
    var kind: String { get }
    /// How often it looks (seconds).
    var interval: Int64 { get }
    /// Whether it can judge a past time from the store (the replay of imported history runs only
    /// these): counts by time can, the queue as it is now cannot.
    var historical: Bool { get }
    func detect(at now: Int64, db: AppDatabase, settings: DetectorSettings) throws -> [Insight]
}

func format(_ v: Double) -> String { String(format: "%.1f", v) }

extension Detector {
    public var historical: Bool { true }
}

/// Too many outbound deliveries bounce, over all the server's mail and per sender domain: above the
/// threshold over the window, with a minimum volume; then quiet for a window (the cooldown).
public struct HighBounceRate: Detector {
    public let kind = "high_bounce_rate"
    public let interval: Int64 = 600
    public init() {}

    public func detect(at now: Int64, db: AppDatabase, settings s: DetectorSettings) throws -> [Insight] {
        let from = now - s.bounceWindow
        var out: [Insight] = []
        let c = try db.countsByDirection(from: from, to: now)["outbound"] ?? [:]
        let bounced = c["bounced", default: 0]
        let total = ["sent", "bounced", "expired", "deferred"].reduce(0) { $0 + c[$1, default: 0] }
        if total >= s.bounceMinimum, Double(bounced) * 100 / Double(total) > s.bounceRatePercent,
           try !s.replay.hasInsight(db, kind: kind, keyPrefix: "\(kind):all:", since: now - s.bounceWindow) {
            let rate = Double(bounced) * 100 / Double(total)
            out.append(Insight(time: now, kind: kind, category: "local", rating: "bad",
                               title: "High bounce rate: \(format(rate))% of outbound mail bounced in the last \(s.bounceWindow / 3600) hours",
                               details: ["bounced": String(bounced), "outbound": String(total), "rate_percent": format(rate),
                                         "threshold_percent": format(s.bounceRatePercent), "from": String(from), "to": String(now)],
                               key: "\(kind):all:\(now)"))
        }
        // Per sender domain, when the server sends for several: one domain's list gone bad shows here.
        let domains = try s.replay.outboundBySenderDomain(db, from: from, to: now)
        guard domains.count > 1 else { return out }
        for (domain, v) in domains.sorted(by: { $0.key < $1.key }) where v.total >= s.bounceMinimum {
            let rate = Double(v.bounced) * 100 / Double(v.total)
            guard rate > s.bounceRatePercent, try !s.replay.hasInsight(db, kind: kind, keyPrefix: "\(kind):\(domain):", since: now - s.bounceWindow) else { continue }
            out.append(Insight(time: now, kind: kind, category: "local", rating: "bad",
                               title: "High bounce rate: \(format(rate))% of outbound mail from \(domain) bounced in the last \(s.bounceWindow / 3600) hours",
                               details: ["bounced": String(v.bounced), "outbound": String(v.total), "rate_percent": format(rate),
                                         "threshold_percent": format(s.bounceRatePercent), "sender_domain": domain,
                                         "from": String(from), "to": String(now)],
                               key: "\(kind):\(domain):\(now)"))
        }
        return out
    }
}

/// No mail at all for hours, where there was some before.
public struct MailInactivity: Detector {
    public let kind = "mail_inactivity"
    public let interval: Int64 = 600
    public init() {}

    public func detect(at now: Int64, db: AppDatabase, settings s: DetectorSettings) throws -> [Insight] {
        let span = Int64(s.inactivityHours) * 3600
        func total(_ from: Int64, _ to: Int64) throws -> Int {
            try db.countsByDirection(from: from, to: to).values.reduce(0) { $0 + $1.values.reduce(0, +) }
        }
        guard try total(now - span, now) == 0, try total(now - 2 * span, now - span) > 0,
              let last = try db.lastActivity(before: now) else { return [] }
        // One insight a silence: named by its start.
        return [Insight(time: now, kind: kind, category: "local", rating: "bad",
                        title: "No mail sent or received in the last \(s.inactivityHours) hours",
                        details: ["hours": String(s.inactivityHours), "since": String(last + 900)],
                        key: "\(kind):\(last)")]
    }
}

/// Deferred recipients pile up in the queue, or wait too long.
public struct DeferredPiling: Detector {
    public let kind = "deferred_piling"
    public let interval: Int64 = 600
    /// The queue as it is now says nothing of the past.
    public let historical = false
    public init() {}

    public func detect(at now: Int64, db: AppDatabase, settings s: DetectorSettings) throws -> [Insight] {
        let (count, oldest) = try db.pendingDeferred()
        let age = oldest.map { now - $0 } ?? 0
        guard count >= s.deferredCount || (count > 0 && age >= Int64(s.deferredAgeHours) * 3600) else { return [] }
        return [Insight(time: now, kind: kind, category: "local", rating: "bad",
                        title: "\(count) deferred recipients are waiting in the queue, the oldest for \(age / 3600) hours",
                        details: ["deferred": String(count), "oldest_hours": String(age / 3600), "oldest": oldest.map(String.init) ?? ""],
                        key: "\(kind):\(now / 86400)")]
    }
}

/// A big provider refuses our mail: its known block replies, one insight per provider and host per window.
public struct BlockedByRemote: Detector {
    public let kind = "blocked_by_remote"
    public let interval: Int64 = 600
    public init() {}

    /// Provider, and lower-cased fragments of its block replies.
    public static let patterns: [(provider: String, fragments: [String])] = [
        ("Microsoft", ["s3140", "5.7.606", "5.7.511", "s3150", "banned sending ip", "part of their network is on our block list"]),
        ("Google", ["likely unsolicited mail", "unusual rate of unsolicited mail", "low reputation of the sending", "4.7.28", "gsmtp.*blocked"]),
        ("Yahoo", ["ts03", "tss04", "tsss04", "tss09", "postmaster.yahooinc.com", "postmaster.verizonmedia.com"]),
        ("AOL / Verizon", ["postmaster.aol.com", "aol.com/errors", "dynamic ip ranges and is not allowed to send mail"]),
        ("Mimecast", ["mimecast.com", "mimecast"]),
        ("Proofpoint", ["proofpoint", "pphosted.com"]),
        ("Trend Micro", ["trendmicro", "ers-rbl", "emailreputation", "mail-abuse.com"]),
        ("Spamhaus", ["spamhaus"]),
    ]

    /// A fragment matches when each of its parts (split at `*`) is in the reply, a part with dots
    /// also without them (`gsmtp.*blocked`: "gsmtp" and "blocked").
    struct CompiledPattern {
        var provider: String
        var fragments: [[[[UInt8]]]]
        var needsRefusal: Bool
    }

    static let compiled: [CompiledPattern] = patterns.map { p in
        CompiledPattern(provider: p.provider, fragments: p.fragments.map { f in
            guard f.contains(".*") else { return [[Array(f.utf8)]] }
            return f.split(separator: "*").map { part in
                let stripped = part.replacingOccurrences(of: ".", with: "")
                return stripped == part ? [Array(part.utf8)] : [Array(stripped.utf8), Array(part.utf8)]
            }
        }, needsRefusal: ["Mimecast", "Proofpoint", "Trend Micro"].contains(p.provider))
    }

    static let refusalWords = ["block", "reject", "reputation", "refused", "denied", "spam", "policy"].map { Array($0.utf8) }

    /// The provider whose block reply this is, if any. Runs over every failed delivery of each window:
    /// bytes and ASCII case folding, no Foundation.
    static func provider(of reply: String) -> String? {
        var r = Array(reply.utf8)
        for i in r.indices where r[i] >= 0x41 && r[i] <= 0x5A { r[i] |= 0x20 }
        return r.withUnsafeBufferPointer { hay -> String? in
            // The first byte found with memchr (vectorised), the rest compared with memcmp.
            func has(_ needle: [UInt8]) -> Bool {
                guard let first = needle.first else { return true }
                guard hay.count >= needle.count, let base = hay.baseAddress else { return false }
                return needle.withUnsafeBufferPointer { n in
                    var i = 0
                    let last = hay.count - n.count
                    while i <= last, let p = memchr(base + i, Int32(first), last - i + 1) {
                        let at = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
                        if memcmp(base + at, n.baseAddress!, n.count) == 0 { return true }
                        i = at + 1
                    }
                    return false
                }
            }
            for p in compiled where p.fragments.contains(where: { parts in parts.allSatisfy { $0.contains(where: has) } }) {
                // A reply that only names the provider's host must also speak of refusing.
                if p.needsRefusal && !refusalWords.contains(where: has) { continue }
                return p.provider
            }
            return nil
        }
    }

    public func detect(at now: Int64, db: AppDatabase, settings s: DetectorSettings) throws -> [Insight] {
        let from = now - s.blockedWindow
        var found: [String: (provider: String, host: String, first: AppDatabase.FailedDelivery, count: Int, last: Int64)] = [:]
        // The same replies come back many times: each is matched once (once per replay when replaying).
        var memo: [String: String?] = [:]
        for f in try s.replay.failedDeliveries(db, from: from, to: now) {
            let provider: String?
            if let h = s.replay.hourly {
                provider = h.provider(of: f.reason, Self.provider(of:))
            } else if let known = memo[f.reason] { provider = known } else {
                provider = Self.provider(of: f.reason)
                memo[f.reason] = provider
            }
            guard let provider else { continue }
            let host = f.relay.map { String($0.prefix { $0 != "[" }) } ?? f.domain
            let key = provider + "|" + host
            if var e = found[key] {
                e.count += 1
                e.last = max(e.last, f.time)
                found[key] = e
            } else {
                found[key] = (provider, host, f, 1, f.time)
            }
        }
        return found.values.sorted { $0.host < $1.host }.map { e in
            Insight(time: now, kind: kind, category: "local", rating: "bad",
                    title: "\(e.provider) is blocking mail from this server (\(e.host))",
                    details: ["provider": e.provider, "host": e.host, "reply": e.first.reason, "dsn": e.first.dsn ?? "",
                              "deliveries": String(e.count), "queue_ids": e.first.queueID, "recipient_domain": e.first.domain,
                              "first": String(e.first.time), "last": String(e.last)],
                    key: "\(kind):\(e.provider):\(e.host):\(now / s.blockedWindow)")
        }
    }
}

/// A burst of failed SMTP/IMAP logins: in the last hour, at least `authAttackFailures` failures in all,
/// or `authAttackPerAddress` from one address, or several addresses blocked. Then quiet for 6 hours.
public struct AuthAttack: Detector {
    public let kind = "auth_attack"
    public let interval: Int64 = 600
    public init() {}

    public func detect(at now: Int64, db: AppDatabase, settings s: DetectorSettings) throws -> [Insight] {
        let from = now - 3600
        let failing = try db.failuresByIP(since: from, until: now)
        let failures = failing.reduce(0) { $0 + $1.failures }
        let blocked = try db.blocksCreated(from: from, to: now + 1).filter { $0.source == "auto" }
        let top = failing.first
        guard failures >= s.authAttackFailures || (top?.failures ?? 0) >= s.authAttackPerAddress || blocked.count >= 5 else { return [] }
        guard try !s.replay.hasInsight(db, kind: kind, since: now - 6 * 3600) else { return [] }
        return [Insight(time: now, kind: kind, category: "local", rating: "bad",
                        title: "\(failures) failed logins from \(failing.count) addresses in the last hour",
                        details: ["failures": String(failures), "addresses": String(failing.count), "blocked": String(blocked.count),
                                  "top_address": top.map { "\($0.ip) (\($0.failures))" } ?? "", "from": String(from), "to": String(now)],
                        key: "\(kind):\(now / 3600)")]
    }
}

/// Once a week: how many addresses the brute-force protection blocked, and the failures behind them.
public struct BlockedWeekly: Detector {
    public let kind = "blocked_weekly"
    public let interval: Int64 = 3600
    /// Today's blocklist says nothing of a past week.
    public let historical = false
    public init() {}

    public func detect(at now: Int64, db: AppDatabase, settings s: DetectorSettings) throws -> [Insight] {
        let week: Int64 = 7 * 86400
        guard try !s.replay.hasInsight(db, kind: kind, since: now - week + 3600) else { return [] }
        let blocks = try db.blocksCreated(from: now - week, to: now + 1)
        guard !blocks.isEmpty else { return [] }
        let failures = blocks.reduce(0) { $0 + $1.failures }
        return [Insight(time: now, kind: kind, category: "local", rating: "info",
                        title: "\(blocks.count) addresses blocked in the last 7 days",
                        details: ["blocked": String(blocks.count), "automatic": String(blocks.filter { $0.source == "auto" }.count),
                                  "failures": String(failures), "from": String(now - week), "to": String(now)],
                        key: "\(kind):\(now / week)")]
    }
}
