import Foundation
import GRDB
import Tracking

/// An address (or network) refused by the brute-force protection.
public struct BlockedAddress: Sendable, Codable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "blocked_ips"
    /// An address or a CIDR network, as written: `203.0.113.7`, `198.51.100.0/24`.
    public var cidr: String
    public var reason: String
    /// `auto` (too many failures) or `manual`.
    public var source: String
    public var createdAt: Int64
    /// nil: until unblocked.
    public var expiresAt: Int64?
    public var failures: Int

    enum CodingKeys: String, CodingKey {
        case cidr, reason, source, createdAt = "created_at", expiresAt = "expires_at", failures
    }

    public init(cidr: String, reason: String, source: String, createdAt: Int64, expiresAt: Int64?, failures: Int = 0) {
        self.cidr = cidr
        self.reason = reason
        self.source = source
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.failures = failures
    }
}

/// The logins of a period, for the dashboard card.
public struct LoginStats: Sendable, Equatable, Codable {
    public var failedAttempts = 0
    public var failingIPs = 0
    public var successfulLogins = 0
    /// Addresses that logged in successfully after failing in the same period.
    public var successesAfterFailures = 0
    public var blockedIPs = 0
    public init() {}
}

/// An address that failed to log in, with what it tried.
public struct FailingAddress: Sendable, Equatable, Codable {
    public var ip: String
    public var failures: Int
    public var successes: Int
    public var users: Int
    public var protocols: String
    public var lastTime: Int64
}

extension AppDatabase {
    static func migrateLogins(_ db: Database) throws {
        try db.create(table: "auth_events") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("time", .integer).notNull().indexed()
            t.column("ip", .text).notNull()
            t.column("user", .text)
            t.column("proto", .text).notNull()
            t.column("success", .boolean).notNull()
            t.column("count", .integer).notNull().defaults(to: 1)
            t.column("reason", .text)
            // `log` (read from the mail logs) or `policy` (reported by Dovecot to the policy endpoint).
            t.column("source", .text).notNull()
        }
        try db.execute(sql: "CREATE INDEX auth_events_ip_time ON auth_events(ip, time)")
        try db.create(table: "blocked_ips") { t in
            t.primaryKey("cidr", .text)
            t.column("reason", .text).notNull()
            t.column("source", .text).notNull()
            t.column("created_at", .integer).notNull()
            t.column("expires_at", .integer)
            t.column("failures", .integer).notNull().defaults(to: 0)
        }
    }

    public func recordAuthEvent(_ e: AuthEvent, source: String) throws {
        try writer.write { db in
            try db.execute(sql: """
                INSERT INTO auth_events (time, ip, user, proto, success, count, reason, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [e.time, e.ip, e.user, e.proto, e.success, e.count, e.reason, source])
        }
    }

    /// Failed attempts per address since `since`. The logs and Dovecot's reports to the policy endpoint
    /// see the same attempts: an address counts the larger of the two, never their sum.
    public func failuresByIP(since: Int64, until: Int64 = .max, minimum: Int = 1) throws -> [(ip: String, failures: Int)] {
        try reader.read { db in
            try Row.fetchAll(db, sql: """
                SELECT ip, max(sum(CASE WHEN source = 'log' THEN count ELSE 0 END), sum(CASE WHEN source = 'policy' THEN count ELSE 0 END)) AS n
                FROM auth_events WHERE time >= ? AND time <= ? AND success = 0 GROUP BY ip HAVING n >= ? ORDER BY n DESC
                """, arguments: [since, until, minimum]).map { ($0["ip"], $0["n"]) }
        }
    }

    public func failures(ip: String, since: Int64) throws -> Int {
        try reader.read { db in
            try Int.fetchOne(db, sql: """
                SELECT max(coalesce(sum(CASE WHEN source = 'log' THEN count ELSE 0 END), 0), coalesce(sum(CASE WHEN source = 'policy' THEN count ELSE 0 END), 0))
                FROM auth_events WHERE ip = ? AND time >= ? AND success = 0
                """, arguments: [ip, since]) ?? 0
        }
    }

    public func loginStats(from: Int64, to: Int64, now: Int64) throws -> LoginStats {
        try reader.read { db in
            var s = LoginStats()
            // Counted from the logs when there are any, else from the policy reports.
            let source = try String.fetchOne(db, sql: "SELECT source FROM auth_events WHERE time >= ? AND time < ? ORDER BY source = 'log' DESC LIMIT 1",
                                             arguments: [from, to]) ?? "log"
            let row = try Row.fetchOne(db, sql: """
                SELECT coalesce(sum(CASE WHEN success = 0 THEN count ELSE 0 END), 0) AS failed,
                       count(DISTINCT CASE WHEN success = 0 THEN ip END) AS ips,
                       coalesce(sum(CASE WHEN success = 1 THEN 1 ELSE 0 END), 0) AS ok
                FROM auth_events WHERE time >= ? AND time < ? AND source = ?
                """, arguments: [from, to, source])!
            s.failedAttempts = row["failed"]
            s.failingIPs = row["ips"]
            s.successfulLogins = row["ok"]
            s.successesAfterFailures = try Int.fetchOne(db, sql: """
                SELECT count(DISTINCT s.ip) FROM auth_events s
                WHERE s.time >= ? AND s.time < ? AND s.success = 1 AND s.source = ?
                  AND EXISTS (SELECT 1 FROM auth_events f WHERE f.ip = s.ip AND f.success = 0 AND f.time >= ? AND (f.time < s.time OR (f.time = s.time AND f.id < s.id)) AND f.source = ?)
                """, arguments: [from, to, source, from, source]) ?? 0
            s.blockedIPs = try Int.fetchOne(db, sql: "SELECT count(*) FROM blocked_ips WHERE expires_at IS NULL OR expires_at > ?", arguments: [now]) ?? 0
            return s
        }
    }

    public func topFailingIPs(from: Int64, to: Int64, limit: Int = 10) throws -> [FailingAddress] {
        try reader.read { db in
            try Row.fetchAll(db, sql: """
                SELECT ip,
                       max(sum(CASE WHEN success = 0 AND source = 'log' THEN count ELSE 0 END), sum(CASE WHEN success = 0 AND source = 'policy' THEN count ELSE 0 END)) AS failures,
                       sum(CASE WHEN success = 1 AND source = 'log' THEN 1 ELSE 0 END) AS successes,
                       count(DISTINCT CASE WHEN success = 0 THEN user END) AS users,
                       group_concat(DISTINCT proto) AS protos, max(time) AS last
                FROM auth_events WHERE time >= ? AND time < ? GROUP BY ip HAVING failures > 0 ORDER BY failures DESC, last DESC LIMIT ?
                """, arguments: [from, to, limit]).map {
                FailingAddress(ip: $0["ip"], failures: $0["failures"], successes: $0["successes"], users: $0["users"],
                               protocols: $0["protos"] ?? "", lastTime: $0["last"])
            }
        }
    }

    /// Blocks that hold at `now`, newest first.
    public func activeBlocks(now: Int64) throws -> [BlockedAddress] {
        try reader.read { db in
            try BlockedAddress.filter(sql: "expires_at IS NULL OR expires_at > ?", arguments: [now])
                .order(Column("created_at").desc).fetchAll(db)
        }
    }

    /// Adds or replaces a block. A manual block is not shortened by an automatic one.
    public func block(_ b: BlockedAddress) throws {
        try writer.write { db in
            if b.source == "auto", let old = try BlockedAddress.fetchOne(db, key: b.cidr), old.source == "manual",
               old.expiresAt == nil || old.expiresAt! > b.createdAt {
                return
            }
            try b.save(db)
        }
    }

    @discardableResult
    public func unblock(_ cidr: String) throws -> Bool {
        try writer.write { db in try BlockedAddress.deleteOne(db, key: cidr) }
    }

    /// Blocks created in [from, to): for the weekly summary.
    public func blocksCreated(from: Int64, to: Int64) throws -> [BlockedAddress] {
        try reader.read { db in
            try BlockedAddress.filter(Column("created_at") >= from && Column("created_at") < to).order(Column("created_at")).fetchAll(db)
        }
    }

    /// Forgets blocks that ended more than a week before `now`.
    public func purgeExpiredBlocks(now: Int64) throws {
        try writer.write { db in
            try db.execute(sql: "DELETE FROM blocked_ips WHERE expires_at IS NOT NULL AND expires_at < ?", arguments: [now - 7 * 86400])
        }
    }
}
