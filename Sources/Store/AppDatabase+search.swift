import Foundation
import GRDB
import Tracking

/// What the message detective looks for. Addresses are exact unless `partial` (signed-in users: a part
/// of an address, or a domain as `@example.com` or `example.com`).
public struct SearchQuery: Sendable, Equatable {
    public var sender: String?
    public var recipient: String?
    public var partial = false
    public var from: Int64?
    public var to: Int64?
    public var status: SearchStatus?
    public var queueID: String?
    public var messageID: String?
    public var limit = 50
    public var offset = 0

    public init() {}

    public var isEmpty: Bool {
        sender == nil && recipient == nil && queueID == nil && messageID == nil && status == nil && from == nil && to == nil
    }
}

/// The states the detective shows and filters by.
public enum SearchStatus: String, Sendable, CaseIterable, Codable {
    case sent, bounced, deferred, expired, returned, received, rejected
}

public struct FoundRecipient: Sendable, Codable, Equatable {
    public var recipient: String
    public var origRecipient: String?
    /// sent, bounced, deferred, expired, or received (delivered here: inbound or local).
    public var status: String
    public var returned: Bool
    public var attempts: Int
    public var firstAttempt: Int64?
    public var lastAttempt: Int64?
    public var dsn: String?
    public var relay: String?
    public var reason: String?
    public var direction: String
    public var log: [Attempt]
}

public struct FoundMessage: Sendable, Codable, Equatable {
    public var id: Int64
    public var host: String
    public var queueIDs: [String]
    public var messageID: String?
    public var sender: String?
    public var size: Int64?
    public var clientHost: String?
    public var clientIP: String?
    public var saslUsername: String?
    public var firstSeen: Int64
    public var lastSeen: Int64
    public var complete: Bool
    public var recipients: [FoundRecipient]
    /// Content-filter hops: the message went through a filter and came back as one message.
    public var hops: [Attempt]
}

public struct FoundRejection: Sendable, Codable, Equatable {
    public var time: Int64
    public var host: String
    public var queueID: String?
    public var stage: String
    public var clientHost: String?
    public var clientIP: String?
    public var sender: String?
    public var recipient: String?
    public var code: Int?
    public var dsn: String?
    public var reason: String
}

public struct SearchResult: Sendable, Codable, Equatable {
    public var messages: [FoundMessage]
    public var rejections: [FoundRejection]
    /// More of either beyond this page.
    public var hasMore: Bool
}

extension AppDatabase {
    /// Messages (newest first, grouped with every recipient's outcome and attempts) and rejections.
    /// Notifications the server generated are not messages of their own: their original shows them
    /// as `returned`.
    public func search(_ q: SearchQuery) throws -> SearchResult {
        try reader.read { db in
            var messages: [FoundMessage] = []
            var rejections: [FoundRejection] = []
            var more = false
            if q.status != .rejected {
                let (sql, args) = Self.messagesSQL(q)
                let rows = try Row.fetchAll(db, sql: sql, arguments: args)
                more = rows.count > q.limit
                for row in rows.prefix(q.limit) {
                    messages.append(try Self.found(row, db))
                }
            }
            if q.status == nil || q.status == .rejected, q.messageID == nil {
                let (sql, args) = Self.rejectionsSQL(q)
                let rows = try Row.fetchAll(db, sql: sql, arguments: args)
                more = more || rows.count > q.limit
                rejections = rows.prefix(q.limit).map {
                    FoundRejection(time: $0["time"], host: $0["host"], queueID: $0["queue_id"], stage: $0["stage"], clientHost: $0["client_host"],
                                   clientIP: $0["client_ip"], sender: $0["sender"], recipient: $0["recipient"], code: $0["code"],
                                   dsn: $0["dsn"], reason: $0["reason"])
                }
            }
            return SearchResult(messages: messages, rejections: rejections, hasMore: more)
        }
    }

    /// The query of the messages a search finds (one page, newest first).
    static func messagesSQL(_ q: SearchQuery) -> (String, StatementArguments) {
        var sql = "SELECT * FROM messages m WHERE m.origin != 'notification'"
        var args: StatementArguments = []
        if let f = q.from { sql += " AND m.first_seen >= ?"; args += [f] }
        if let t = q.to { sql += " AND m.first_seen < ?"; args += [t] }
        if let s = q.sender {
            let (clause, a) = Self.addressClause("m.sender", s, partial: q.partial)
            sql += " AND " + clause
            args += a
        }
        if let r = q.recipient {
            let (c1, a1) = Self.addressClause("recipient", r, partial: q.partial)
            let (c2, a2) = Self.addressClause("orig_recipient", r, partial: q.partial)
            sql += " AND m.id IN (SELECT message_id FROM deliveries WHERE \(c1) UNION SELECT message_id FROM deliveries WHERE \(c2))"
            args += a1
            args += a2
        }
        if let qid = q.queueID?.trimmingCharacters(in: .whitespaces), qid.contains(";") {
            sql += " AND 0"  // not a queue id: `queue_ids` separates them with ';'
        } else if let qid = q.queueID?.trimmingCharacters(in: .whitespaces), !qid.isEmpty {
            // Any of the message's queue ids, each arm through an index: the first id's, the second's
            // (messages of several queues), and the few messages of three or more, read whole.
            sql += """
                 AND m.id IN (SELECT id FROM messages WHERE lm_search_key(queue_id) = lm_search_key(?) AND +queue_id = ?
                    UNION ALL SELECT id FROM messages WHERE queue_ids != queue_id AND lm_queue_key(queue_ids, 1) = lm_search_key(?)
                        AND instr(';' || queue_ids || ';', ';' || ? || ';') > 0
                    UNION ALL SELECT id FROM messages WHERE queue_ids LIKE '%;%;%' AND instr(';' || queue_ids || ';', ';' || ? || ';') > 0)
                """
            args += [qid, qid, qid, qid, qid]
        }
        if let mid = q.messageID.map(Self.bareMessageID), !mid.isEmpty {
            sql += " AND lm_search_key(m.message_id) = lm_search_key(?) AND +m.message_id = ?"
            args += [mid, mid]
        }
        if let s = q.status {
            switch s {
            case .returned: sql += " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.returned)"
            case .received: sql += " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status = 'sent' AND d.direction != 'outbound')"
            case .sent: sql += " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status = 'sent' AND d.direction = 'outbound')"
            default:
                sql += " AND EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.status = ?)"
                args += [s.rawValue]
            }
        }
        sql += " ORDER BY m.first_seen DESC, m.id DESC LIMIT ? OFFSET ?"
        args += [q.limit + 1, q.offset]
        return (sql, args)
    }

    /// The query of the rejections a search finds (one page, newest first).
    static func rejectionsSQL(_ q: SearchQuery) -> (String, StatementArguments) {
        var sql = "SELECT * FROM rejections WHERE 1"
        var args: StatementArguments = []
        if let f = q.from { sql += " AND time >= ?"; args += [f] }
        if let t = q.to { sql += " AND time < ?"; args += [t] }
        if let s = q.sender {
            let (c, a) = Self.addressClause("sender", s, partial: q.partial)
            sql += " AND " + c
            args += a
        }
        if let r = q.recipient {
            let (c, a) = Self.addressClause("recipient", r, partial: q.partial)
            sql += " AND " + c
            args += a
        }
        if let qid = q.queueID, !qid.isEmpty { sql += " AND queue_id = ?"; args += [qid] }
        sql += " ORDER BY time DESC, id DESC LIMIT ? OFFSET ?"
        args += [q.limit + 1, q.offset]
        return (sql, args)
    }

    static func found(_ row: Row, _ db: Database) throws -> FoundMessage {
        let id: Int64 = row["id"]
        let recipients = try Row.fetchAll(db, sql: "SELECT * FROM deliveries WHERE message_id = ? ORDER BY idx", arguments: [id]).map { d in
            let direction: String = d["direction"]
            var status: String = d["status"]
            if status == "sent" && direction != "outbound" { status = "received" }
            return FoundRecipient(recipient: d["recipient"], origRecipient: d["orig_recipient"], status: status, returned: d["returned"],
                                  attempts: d["attempts"], firstAttempt: d["first_attempt"], lastAttempt: d["last_attempt"], dsn: d["dsn"],
                                  relay: d["relay"], reason: d["reason"], direction: direction, log: AttemptLog.decode(row: d))
        }
        var hops: [Attempt] = []
        if let live: String = row["live_state"], let data = live.data(using: .utf8),
           let state = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let h = state["hops"] {
            if let hd = try? JSONSerialization.data(withJSONObject: h) { hops = AttemptLog.decode(String(decoding: hd, as: UTF8.self)) }
        }
        return FoundMessage(id: id, host: row["host"], queueIDs: (row["queue_ids"] as String).split(separator: ";").map(String.init),
                            messageID: row["message_id"], sender: row["sender"], size: row["size"], clientHost: row["client_host"],
                            clientIP: row["client_ip"], saslUsername: row["sasl_username"], firstSeen: row["first_seen"],
                            lastSeen: row["last_seen"], complete: row["complete"], recipients: recipients, hops: hops)
    }

    /// `column` matches the address `value`: exactly (ASCII case aside) through the index of its search
    /// key, or with `partial` a part of it (`@example.com`, `example.com` or `john`: any case, no
    /// index). The texts are compared as `+column`: SQLite would otherwise put the value in place of
    /// the column in the key's expression (its constant propagation), and no longer see the index.
    static func addressClause(_ column: String, _ value: String, partial: Bool) -> (String, StatementArguments) {
        var v = value.trimmingCharacters(in: .whitespaces)
        if v.hasPrefix("<") && v.hasSuffix(">") { v = String(v.dropFirst().dropLast()) }
        if v == "<>" || v.isEmpty { return ("(lm_search_key(\(column)) = lm_search_key('') AND +\(column) = '')", []) }
        if !partial { return ("(lm_search_key(\(column)) = lm_search_key(?) AND +\(column) = ? COLLATE NOCASE)", [v, v]) }
        let escaped = v.lowercased().replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
        return ("lower(\(column)) LIKE ? ESCAPE '\\'", ["%" + escaped + "%"])
    }

    static func bareMessageID(_ s: String) -> String {
        var v = s.trimmingCharacters(in: .whitespaces)
        if v.hasPrefix("<") && v.hasSuffix(">") { v = String(v.dropFirst().dropLast()) }
        return v
    }
}
