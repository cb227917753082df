import Foundation
import GRDB
import Tracking

/// One row of `lightmeter export`: a (message, recipient) outcome or a rejection.
public struct ExportRow: Sendable, Equatable {
    public var queueID: String
    public var queueIDs: [String]
    public var messageID: String?
    public var sender: String?
    public var recipient: String?
    public var origRecipient: String?
    /// `sent`, `bounced`, `deferred`, `expired` or `rejected`.
    public var status: String
    public var returned: Bool
    public var attempts: Int
    public var firstSeen: Int64
    public var lastSeen: Int64
    public var dsn: String?
    public var relay: String?
    public var direction: String?
    public var clientIP: String?
    public var size: Int64?
    public var reason: String?
    public var host: String
}

extension AppDatabase {
    /// Outcomes of user messages (notifications the server generated are filed under their original)
    /// and rejections, between two Unix times (inclusive start, exclusive end), oldest first.
    public func exportRows(from: Int64?, to: Int64?, _ each: (ExportRow) throws -> Void) throws {
        try reader.read { db in
            let lo = from ?? Int64.min, hi = to ?? Int64.max
            let rows = try Row.fetchCursor(db, sql: """
                SELECT m.queue_id, m.queue_ids, m.message_id, m.sender, m.first_seen, m.last_seen, m.client_ip, m.size,
                    m.host, d.recipient, d.orig_recipient, d.status, d.returned, d.attempts, d.last_attempt, d.dsn, d.relay,
                    d.direction, d.reason
                FROM messages m JOIN deliveries d ON d.message_id = m.id
                WHERE m.origin != 'notification' AND d.status IN ('sent', 'bounced', 'deferred', 'expired')
                    AND m.first_seen >= ? AND m.first_seen < ?
                ORDER BY m.first_seen, m.id, d.idx
                """, arguments: [lo, hi])
            while let r = try rows.next() {
                let firstSeen: Int64 = r["first_seen"]
                try each(ExportRow(
                    queueID: r["queue_id"], queueIDs: (r["queue_ids"] as String).split(separator: ";").map(String.init),
                    messageID: r["message_id"], sender: r["sender"], recipient: r["recipient"],
                    origRecipient: r["orig_recipient"], status: r["status"], returned: r["returned"], attempts: r["attempts"],
                    firstSeen: firstSeen, lastSeen: (r["last_attempt"] as Int64?) ?? r["last_seen"], dsn: r["dsn"],
                    relay: r["relay"], direction: r["direction"], clientIP: r["client_ip"], size: r["size"],
                    reason: r["reason"], host: r["host"]))
            }
            let rejections = try Row.fetchCursor(db, sql: """
                SELECT * FROM rejections WHERE time >= ? AND time < ? ORDER BY time, id
                """, arguments: [lo, hi])
            while let r = try rejections.next() {
                let q: String? = r["queue_id"]
                let code: Int? = r["code"]
                let reason: String = r["reason"]
                try each(ExportRow(
                    queueID: q ?? "", queueIDs: q.map { [$0] } ?? [], messageID: nil, sender: r["sender"],
                    recipient: r["recipient"], origRecipient: nil, status: "rejected", returned: false, attempts: 0,
                    firstSeen: r["time"], lastSeen: r["time"], dsn: r["dsn"], relay: nil, direction: nil,
                    clientIP: r["client_ip"], size: nil, reason: code.map { "\($0) \(reason)" } ?? reason, host: r["host"]))
            }
        }
    }
}

extension AppDatabase {
    /// The outcomes of the `limit` newest user messages, newest first (the first_seen index: no scan).
    public func latestDeliveries(limit: Int) throws -> [ExportRow] {
        try reader.read { db in
            try Row.fetchAll(db, sql: """
                SELECT m.queue_id, m.queue_ids, m.message_id, m.sender, m.first_seen, m.last_seen, m.client_ip, m.size,
                    m.host, d.recipient, d.orig_recipient, d.status, d.returned, d.attempts, d.last_attempt, d.dsn, d.relay,
                    d.direction, d.reason
                FROM (SELECT * FROM messages WHERE origin != 'notification' ORDER BY first_seen DESC, id DESC LIMIT ?) m
                JOIN deliveries d ON d.message_id = m.id
                ORDER BY m.first_seen DESC, m.id DESC, d.idx
                """, arguments: [limit]).map { r in
                ExportRow(
                    queueID: r["queue_id"], queueIDs: (r["queue_ids"] as String).split(separator: ";").map(String.init),
                    messageID: r["message_id"], sender: r["sender"], recipient: r["recipient"],
                    origRecipient: r["orig_recipient"], status: r["status"], returned: r["returned"], attempts: r["attempts"],
                    firstSeen: r["first_seen"], lastSeen: (r["last_attempt"] as Int64?) ?? r["last_seen"], dsn: r["dsn"],
                    relay: r["relay"], direction: r["direction"], clientIP: r["client_ip"], size: r["size"],
                    reason: r["reason"], host: r["host"])
            }
        }
    }
}
