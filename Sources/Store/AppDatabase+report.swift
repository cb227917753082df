import GRDB

/// A pflogsumm-style summary of a period, counted per message and per recipient without double
/// counting content-filter hops or the notifications the server generated.
public struct Report: Sendable {
    public struct Count: Sendable, Equatable {
        public var key: String
        public var count: Int
    }

    public struct Reason: Sendable, Equatable {
        public var dsn: String
        public var domain: String
        public var reason: String
        public var count: Int
    }

    public var from: Int64?
    public var to: Int64?
    /// User messages (received or submitted), notifications not included.
    public var messages = 0
    public var notifications = 0
    /// Recipient outcomes by status.
    public var byStatus: [Count] = []
    public var returned = 0
    /// Deferred attempts (each `status=deferred` line) and the recipients that had at least one.
    public var deferredAttempts = 0
    public var deferredRecipients = 0
    public var rejections = 0
    public var bytesReceived: Int64 = 0
    public var byDirection: [Count] = []
    public var topSenders: [Count] = []
    public var topRecipients: [Count] = []
    public var topDomains: [Count] = []
    public var bounceReasons: [Reason] = []
    public var deferralReasons: [Reason] = []
    public var rejectionReasons: [Count] = []
    /// Messages per hour, `YYYY-MM-DDTHH` (UTC).
    public var perHour: [Count] = []
}

extension AppDatabase {
    public func report(from: Int64?, to: Int64?, top: Int = 10) throws -> Report {
        try reader.read { db in
            let lo = from ?? Int64.min, hi = to ?? Int64.max
            var r = Report()
            r.from = from
            r.to = to
            let args: StatementArguments = [lo, hi]
            let userMessages = "FROM messages m WHERE m.origin != 'notification' AND m.first_seen >= ? AND m.first_seen < ?"
            r.messages = try Int.fetchOne(db, sql: "SELECT COUNT(*) \(userMessages)", arguments: args) ?? 0
            r.bytesReceived = try Int64.fetchOne(db, sql: "SELECT COALESCE(SUM(m.size), 0) \(userMessages)", arguments: args) ?? 0
            r.notifications = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM messages m WHERE m.origin = 'notification' AND m.first_seen >= ? AND m.first_seen < ?
                """, arguments: args) ?? 0
            let joined = """
                FROM deliveries d JOIN messages m ON m.id = d.message_id
                WHERE m.origin != 'notification' AND d.status IN ('sent', 'bounced', 'deferred', 'expired')
                    AND m.first_seen >= ? AND m.first_seen < ?
                """
            func counts(_ sql: String, _ a: StatementArguments = args) throws -> [Report.Count] {
                try Row.fetchAll(db, sql: sql, arguments: a).map { Report.Count(key: $0[0] ?? "", count: $0[1]) }
            }
            r.byStatus = try counts("SELECT d.status, COUNT(*) \(joined) GROUP BY d.status ORDER BY COUNT(*) DESC")
            r.returned = try Int.fetchOne(db, sql: "SELECT COUNT(*) \(joined) AND d.returned", arguments: args) ?? 0
            r.byDirection = try counts("SELECT d.direction, COUNT(*) \(joined) GROUP BY d.direction ORDER BY COUNT(*) DESC")
            r.topSenders = try counts("""
                SELECT COALESCE(NULLIF(m.sender, ''), '<>'), COUNT(*) \(userMessages) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT \(top)
                """)
            r.topRecipients = try counts("SELECT d.recipient, COUNT(*) \(joined) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT \(top)")
            r.topDomains = try counts("SELECT d.domain, COUNT(*) \(joined) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT \(top)")
            r.bounceReasons = try Row.fetchAll(db, sql: """
                SELECT COALESCE(d.dsn, ''), d.domain, COALESCE(MIN(d.reason), ''), COUNT(*) \(joined) AND d.status IN ('bounced', 'expired')
                GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2 LIMIT \(top * 2)
                """, arguments: args).map { Report.Reason(dsn: $0[0], domain: $0[1], reason: $0[2], count: $0[3]) }
            r.deferralReasons = try Row.fetchAll(db, sql: """
                SELECT COALESCE(json_extract(a.value, '$.dsn'), ''), d.domain, MIN(json_extract(a.value, '$.reply')), COUNT(*)
                FROM deliveries d JOIN messages m ON m.id = d.message_id, json_each(\(AttemptLog.sql("d"))) a
                WHERE m.origin != 'notification' AND m.first_seen >= ? AND m.first_seen < ?
                    AND json_extract(a.value, '$.status') = 'deferred'
                GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2 LIMIT \(top * 2)
                """, arguments: args).map { Report.Reason(dsn: $0[0], domain: $0[1], reason: $0[2] ?? "", count: $0[3]) }
            r.deferredAttempts = r.deferralReasons.isEmpty ? 0 : try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id, json_each(\(AttemptLog.sql("d"))) a
                WHERE m.origin != 'notification' AND m.first_seen >= ? AND m.first_seen < ?
                    AND json_extract(a.value, '$.status') = 'deferred'
                """, arguments: args) ?? 0
            r.deferredRecipients = try Int.fetchOne(db, sql: """
                SELECT COUNT(*) \(joined) AND EXISTS (SELECT 1 FROM json_each(\(AttemptLog.sql("d"))) a WHERE json_extract(a.value, '$.status') = 'deferred')
                """, arguments: args) ?? 0
            r.rejections = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM rejections WHERE time >= ? AND time < ?", arguments: args) ?? 0
            r.rejectionReasons = try counts("""
                SELECT COALESCE(code || ' ', '') || substr(reason, 1, 100), COUNT(*) FROM rejections WHERE time >= ? AND time < ?
                GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT \(top)
                """)
            r.perHour = try counts("""
                SELECT strftime('%Y-%m-%dT%H', m.first_seen, 'unixepoch'), COUNT(*) \(userMessages) GROUP BY 1 ORDER BY 1
                """)
            return r
        }
    }
}
