import Foundation
import GRDB

/// One notification waiting for, or done with, one channel: an insight for Slack, e-mail or a webhook.
/// Kept in the workspace so that it survives a restart; `state` moves pending → sending → sent, or
/// back to pending with a later `nextAttemptAt` after a failure, or to failed/expired in the end.
public struct OutboxItem: Sendable, Codable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "notification_outbox"
    public var id: Int64?
    public var channel: String
    public var insightID: Int64
    public var createdAt: Int64
    public var state: String
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var lastError: String?
    public var sentAt: Int64?

    enum CodingKeys: String, CodingKey {
        case id, channel, insightID = "insight_id", createdAt = "created_at", state, attempts
        case nextAttemptAt = "next_attempt_at", lastError = "last_error", sentAt = "sent_at"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// What a channel's part of the outbox looks like, for the settings page.
public struct OutboxSummary: Sendable, Equatable {
    public var pending = 0
    public var sent = 0
    public var failed = 0
    public var lastError: String?
    public var lastSentAt: Int64?
}

extension AppDatabase {
    static func migrateOutbox(_ db: Database) throws {
        try db.create(table: "notification_outbox") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("channel", .text).notNull()
            t.column("insight_id", .integer).notNull()
            t.column("created_at", .integer).notNull()
            t.column("state", .text).notNull()
            t.column("attempts", .integer).notNull().defaults(to: 0)
            t.column("next_attempt_at", .integer).notNull()
            t.column("last_error", .text)
            t.column("sent_at", .integer)
            t.uniqueKey(["channel", "insight_id"])
        }
        try db.execute(sql: "CREATE INDEX outbox_due ON notification_outbox(channel, state, next_attempt_at)")
    }

    /// Puts the insights stored since the last call into the outbox, one row per channel, for those
    /// `shouldNotify` accepts; in one transaction with the mark of how far it got, so that an insight is
    /// queued once. The first call only sets the mark: what existed before notifications did is not sent.
    @discardableResult
    public func enqueueNewInsights(channels: [String], now: Int64, shouldNotify: (Insight) -> Bool) throws -> Int {
        // Most rounds find nothing new: they only read.
        let nothingNew = try reader.read { db -> Bool in
            guard let mark = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'notify_enqueued_until'").flatMap({ Int64($0) }) else { return false }
            return (try Int64.fetchOne(db, sql: "SELECT max(id) FROM insights") ?? 0) <= mark
        }
        if nothingNew { return 0 }
        return try writer.write { db in
            let mark = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'notify_enqueued_until'").flatMap { Int64($0) }
            let maxID = try Int64.fetchOne(db, sql: "SELECT max(id) FROM insights") ?? 0
            func setMark(_ v: Int64) throws {
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('notify_enqueued_until', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                               arguments: [String(v)])
            }
            guard let mark else {
                try setMark(maxID)
                return 0
            }
            guard maxID > mark else { return 0 }
            var queued = 0
            for insight in try Insight.filter(Column("id") > mark).order(Column("id")).fetchAll(db)
            where insight.active && shouldNotify(insight) {
                for channel in channels {
                    try db.execute(sql: """
                        INSERT OR IGNORE INTO notification_outbox (channel, insight_id, created_at, state, attempts, next_attempt_at)
                        VALUES (?, ?, ?, 'pending', 0, ?)
                        """, arguments: [channel, insight.id!, now, now])
                    queued += db.changesCount
                }
            }
            try setMark(maxID)
            return queued
        }
    }

    /// Queues one insight for one channel now (tests, and the CLI's re-send).
    public func enqueue(insightID: Int64, channel: String, now: Int64) throws {
        try writer.write { db in
            try db.execute(sql: """
                INSERT OR IGNORE INTO notification_outbox (channel, insight_id, created_at, state, attempts, next_attempt_at)
                VALUES (?, ?, ?, 'pending', 0, ?)
                """, arguments: [channel, insightID, now, now])
        }
    }

    /// The items of `channel` due at `now`, oldest first.
    public func dueOutbox(channel: String, now: Int64, limit: Int = 50) throws -> [OutboxItem] {
        try reader.read { db in
            try OutboxItem.filter(Column("channel") == channel && Column("state") == "pending" && Column("next_attempt_at") <= now)
                .order(Column("id")).limit(limit).fetchAll(db)
        }
    }

    /// Claims items before their delivery: a crash after this leaves them `sending`.
    public func markSending(_ ids: [Int64]) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE notification_outbox SET state = 'sending', attempts = attempts + 1 WHERE id IN (\(ids.map(String.init).joined(separator: ",")))")
        }
    }

    public func markSent(_ ids: [Int64], at now: Int64) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE notification_outbox SET state = 'sent', sent_at = ?, last_error = NULL WHERE id IN (\(ids.map(String.init).joined(separator: ",")))",
                           arguments: [now])
        }
    }

    /// After a failed delivery: due again at `retryAt`, or failed for good when nil.
    public func markFailed(_ ids: [Int64], error: String, retryAt: Int64?) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE notification_outbox SET state = ?, next_attempt_at = coalesce(?, next_attempt_at), last_error = ? WHERE id IN (\(ids.map(String.init).joined(separator: ",")))",
                           arguments: [retryAt == nil ? "failed" : "pending", retryAt, error])
        }
    }

    /// At start: what a killed process left in delivery goes back to the queue.
    @discardableResult
    public func requeueInterrupted() throws -> Int {
        try writer.write { db in
            try db.execute(sql: "UPDATE notification_outbox SET state = 'pending' WHERE state = 'sending'")
            return db.changesCount
        }
    }

    /// Makes every pending item of `channel` due now (its settings changed: try again at once).
    public func rescheduleOutbox(channel: String, now: Int64) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE notification_outbox SET next_attempt_at = ? WHERE channel = ? AND state = 'pending'", arguments: [now, channel])
        }
    }

    /// Pending items queued before `cutoff` are too old to tell anyone: expired. Sent ones older than
    /// `keepSentUntil` are deleted.
    public func expireOutbox(pendingBefore cutoff: Int64, deleteDoneBefore keepSentUntil: Int64) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE notification_outbox SET state = 'expired' WHERE state = 'pending' AND created_at < ?", arguments: [cutoff])
            try db.execute(sql: "DELETE FROM notification_outbox WHERE state IN ('sent', 'failed', 'expired') AND created_at < ?", arguments: [keepSentUntil])
        }
    }

    public func outboxItems(channel: String? = nil) throws -> [OutboxItem] {
        try reader.read { db in
            var q = OutboxItem.all()
            if let channel { q = q.filter(Column("channel") == channel) }
            return try q.order(Column("id")).fetchAll(db)
        }
    }

    public func outboxSummary(channel: String) throws -> OutboxSummary {
        try reader.read { db in
            var s = OutboxSummary()
            for row in try Row.fetchAll(db, sql: "SELECT state, count(*) AS n, max(sent_at) AS last FROM notification_outbox WHERE channel = ? GROUP BY state", arguments: [channel]) {
                let n: Int = row["n"]
                switch row["state"] as String {
                case "pending", "sending": s.pending += n
                case "sent": s.sent = n; s.lastSentAt = row["last"]
                case "failed", "expired": s.failed += n
                default: break
                }
            }
            s.lastError = try String.fetchOne(db, sql: "SELECT last_error FROM notification_outbox WHERE channel = ? AND state IN ('pending', 'failed') AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1", arguments: [channel])
            return s
        }
    }

    /// Insights by id, in the order asked.
    public func insights(ids: [Int64]) throws -> [Insight] {
        try reader.read { db in
            let found = try Insight.fetchAll(db, keys: ids)
            let byID = Dictionary(uniqueKeysWithValues: found.map { ($0.id!, $0) })
            return ids.compactMap { byID[$0] }
        }
    }
}
