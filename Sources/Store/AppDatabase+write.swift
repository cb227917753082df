import Foundation
import GRDB
import Tracking

/// Where an import stands in one source: written in the same transaction as the data it covers.
public struct Checkpoint: Sendable, Equatable {
    public var source: String
    /// Lines consumed from the source.
    public var lines: Int64
    /// Bytes consumed from the source (files).
    public var offset: Int64
    /// Time and hash of the last line consumed, to recognise it when a stream is read again.
    public var lastTime: Int64
    public var lastHash: Int64
    /// How many lines consumed had `lastTime` as their time.
    public var sameTimeLines: Int64
    /// File identity (inode and a fingerprint of the first line) for files.
    public var identity: String?
    /// Read to its end, and it will not grow (a rotated file).
    public var complete: Bool = false

    public init(source: String, lines: Int64, offset: Int64, lastTime: Int64, lastHash: Int64, sameTimeLines: Int64,
                identity: String? = nil) {
        self.sameTimeLines = sameTimeLines
        self.source = source
        self.lines = lines
        self.offset = offset
        self.lastTime = lastTime
        self.lastHash = lastHash
        self.identity = identity
    }
}

/// The raw lines of one batch: one compressed block and where each message's lines are in it.
public struct RawBlock: Sendable {
    public var codec: Int
    /// Uncompressed size.
    public var size: Int
    public var lastSeen: Int64
    public var data: [UInt8]
    public var refs: [(messageID: Int64, offset: Int32, length: Int32)]

    public init(codec: Int, size: Int, lastSeen: Int64, data: [UInt8], refs: [(messageID: Int64, offset: Int32, length: Int32)]) {
        self.codec = codec
        self.size = size
        self.lastSeen = lastSeen
        self.data = data
        self.refs = refs
    }
}

/// The part of a live message's tracker state that has no column of its own.
struct LiveState: Codable {
    var liveQueues: [String]
    var awaitingChildren: [String]
    var hops: [Attempt]
    var notified: Bool

    /// JSON, written by hand: it is written for every message still live at the end of a batch.
    var encoded: String {
        var s = "{\"liveQueues\":[" + liveQueues.map { "\"\($0)\"" }.joined(separator: ",") + "],"
        s += "\"awaitingChildren\":[" + awaitingChildren.map { "\"\($0)\"" }.joined(separator: ",") + "],"
        s += "\"hops\":" + AttemptLog.encode(hops) + ",\"notified\":" + (notified ? "true" : "false") + "}"
        return s
    }
}

extension AppDatabase {
    static let messageColumns = [
        "id", "host", "queue_id", "queue_ids", "message_id", "sender", "size", "nrcpt", "client_host", "client_ip",
        "sasl_username", "origin", "parent_id", "first_seen", "last_seen", "complete", "expired", "rejected", "live_state",
    ]
    static let deliveryColumns = [
        "message_id", "idx", "recipient", "orig_recipient", "status", "returned", "attempts", "first_attempt",
        "last_attempt", "dsn", "relay", "reason", "agent", "direction", "domain", "delay", "log",
    ]
    static let rejectionColumns = [
        "time", "host", "queue_id", "daemon", "stage", "client_host", "client_ip", "sender", "recipient", "code", "dsn",
        "reason", "line",
    ]
    static let authColumns = ["time", "ip", "user", "proto", "success", "count", "reason", "source"]

    /// The import's statements: a message or a delivery written again (it was live) replaces its row.
    static let upsertMessages = RowBatch.insertSQL("messages", messageColumns, tail: """
        ON CONFLICT(id) DO UPDATE SET \(messageColumns.dropFirst(3).map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
        """)
    static let upsertDeliveries = RowBatch.insertSQL("deliveries", deliveryColumns, tail: """
        ON CONFLICT(message_id, idx) DO UPDATE SET \(deliveryColumns.dropFirst(2).map { "\($0) = excluded.\($0)" }.joined(separator: ", "))
        """)
    static let insertRawRefs = RowBatch.insertSQL("raw_refs", ["message_id", "block_id", "offset", "length"])
    static let insertRejections = RowBatch.insertSQL("rejections", rejectionColumns)
    static let insertLogins = RowBatch.insertSQL("auth_events", authColumns)
}

extension AppDatabase {
    /// What one import batch produced, with the checkpoints it reached. `raw` holds the raw lines of
    /// `out` (its `rawLines` are not used when it is given).
    public struct Batch: Sendable {
        public var out: TrackerOutput
        public var raw: RawBlock?
        public var checkpoints: [Checkpoint]
        public var nextID: Int64
        /// A bulk load begins with this batch: the search indexes are set aside first (AppDatabase+bulk).
        public var beginsBulkLoad: Bool

        public init(out: TrackerOutput, raw: RawBlock?, checkpoints: [Checkpoint], nextID: Int64, beginsBulkLoad: Bool = false) {
            self.out = out
            self.raw = raw
            self.checkpoints = checkpoints
            self.nextID = nextID
            self.beginsBulkLoad = beginsBulkLoad
        }
    }

    /// Writes what the tracker produced in several batches, and the checkpoints reached, in order, in
    /// one transaction.
    public func save(_ batches: [Batch], domains: DomainMapping) throws {
        var first: [Batch]? = batches
        try save(domains: domains, next: { defer { first = nil }; return first }, written: { _ in })
    }

    /// Writes groups of batches in one transaction: `next` gives the first group, and is asked for
    /// another once each is written, until it returns nil; only the first group may hold a batch that
    /// begins a bulk load. A bulk import keeps its transaction open across batches that come in quick
    /// succession: each commit writes again every page the transaction changed (the tables' last pages,
    /// the indexes' pages all over). `written` is handed each group as soon as it is written (before
    /// the commit) and may take it (empty the array), so that its memory is freed where the caller likes.
    public func save(domains: DomainMapping, next: () -> [Batch]?, written: (inout [Batch]) -> Void) throws {
        guard var group = next(), !group.isEmpty else { return }
        if group.contains(where: \.beginsBulkLoad) { try setSearchIndexesAside() }
        try writer.writeWithoutTransaction { db in
            // Without the foreign keys' checks (a lookup of the message for each delivery, of the
            // block for each raw-line reference): each delivery is written right after its message,
            // each reference after its block, and a merged message's deliveries are deleted with it
            // (`save` below). The setting is the connection's, and cannot change inside a transaction.
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            defer { try? db.execute(sql: "PRAGMA foreign_keys = ON") }
            try db.inTransaction {
                // One set of counts for the whole transaction: batches written together often count the
                // same intervals and domains.
                var rollup = Rollup()
                while true {
                    for i in group.indices {
                        try Self.save(group[i].out, raw: group[i].raw ?? RawBlock.plain(group[i].out), checkpoints: group[i].checkpoints,
                                      nextID: group[i].nextID, domains: domains, rollup: &rollup, db)
                    }
                    written(&group)
                    group = []
                    guard let more = next(), !more.isEmpty else { break }
                    // Only a first group may begin a bulk load (its indexes are set aside before the transaction).
                    assert(!more.contains(where: \.beginsBulkLoad), "a bulk load begins in a transaction of its own")
                    group = more
                }
                let bulk = try Self.isBulkLoading(db)
                try rollup.apply(db, coarseDomains: !bulk)
                if bulk, let hours = rollup.domainHours { try Self.widenBulkRollupHours(hours, db) }
                return .commit
            }
        }
    }

    /// Writes one batch; what it counts for the dashboard is added to `rollup`, applied by the caller
    /// in the same transaction.
    static func save(_ out: TrackerOutput, raw: RawBlock, checkpoints: [Checkpoint], nextID: Int64, domains: DomainMapping,
                     rollup: inout Rollup, _ db: Database) throws {
        for (child, parent) in out.merged {
            try rollup.subtractStored(child, db)
            try db.cachedStatement(sql: "UPDATE raw_refs SET message_id = ? WHERE message_id = ?").execute(arguments: [parent, child])
            // What the foreign key's cascade does when it is on (`save(_:domains:)` turns it off).
            try db.cachedStatement(sql: "DELETE FROM deliveries WHERE message_id = ?").execute(arguments: [child])
            try db.cachedStatement(sql: "DELETE FROM messages WHERE id = ?").execute(arguments: [child])
        }
        // In the order of their ids: most rows then go at the end of their tables.
        let order = out.messages.withUnsafeBufferPointer { all in all.indices.sorted { all[$0].id < all[$1].id } }
        var messages = RowBatch(columns: messageColumns.count, rows: out.messages.count)
        var deliveries = RowBatch(columns: deliveryColumns.count, rows: out.messages.reduce(0) { $0 + $1.recipients.count })
        // What the messages written before counted, taken back in one query (their rows are replaced).
        let stored = out.messages.withUnsafeBufferPointer { all in
            order.lazy.filter { all[$0].persisted }.map { String(all[$0].id) }.joined(separator: ",")
        }
        if !stored.isEmpty { try rollup.subtractStored(list: stored, db) }
        // The messages and their recipients are read in place: a copy of one retains and releases
        // each of its strings and arrays, on this thread, objects the tracking thread made and uses.
        out.messages.withUnsafeBufferPointer { all in
            for index in order {
                let m = UnsafeMutablePointer(mutating: all.baseAddress! + index)
                messages.add(m.pointee.id)
                messages.add(inPlace: &m.pointee.host)
                if m.pointee.queueIDs.count == 1 {
                    m.pointee.queueIDs.withUnsafeBufferPointer { q in
                        let first = UnsafeMutablePointer(mutating: q.baseAddress!)
                        messages.add(inPlace: &first.pointee)
                        messages.add(inPlace: &first.pointee)
                    }
                } else {
                    messages.add(m.pointee.firstQueueID)
                    messages.add(m.pointee.queueIDs.joined(separator: ";"))
                }
                m.pointee.withTextBytes { t in
                    messages.add(m.pointee.messageIDRef, in: t)
                    messages.add(m.pointee.senderRef, in: t)
                    messages.add(m.pointee.size)
                    messages.add(m.pointee.nrcpt)
                    messages.add(m.pointee.clientHostRef, in: t)
                    messages.add(m.pointee.clientIPRef, in: t)
                    messages.add(m.pointee.saslUsernameRef, in: t)
                }
                messages.add(m.pointee.origin.rawValue)
                messages.add(m.pointee.parentID)
                messages.add(m.pointee.firstSeen)
                messages.add(m.pointee.lastSeen)
                messages.add(m.pointee.complete)
                messages.add(m.pointee.expired)
                messages.add(m.pointee.rejected)
                messages.add(m.pointee.complete ? nil : LiveState(liveQueues: m.pointee.liveQueues, awaitingChildren: m.pointee.awaitingChildren,
                                                                  hops: m.pointee.hops, notified: m.pointee.notified).encoded)
                let id = m.pointee.id, firstSeen = m.pointee.firstSeen, origin = m.pointee.origin.rawValue
                let fromOutside = m.pointee.withTextBytes { t in
                    MessageState.receivedFromOutside(origin: m.pointee.origin, clientIP: m.pointee.clientIPRef.bytes(in: t),
                                                     authenticated: !m.pointee.saslUsernameRef.isNone)
                }
                m.pointee.recipients.withUnsafeBufferPointer { rs in
                    for i in rs.indices {
                        let r = UnsafeMutablePointer(mutating: rs.baseAddress! + i)
                        let delay = r.pointee.entries.withUnsafeBufferPointer { RecipientState.lastDelay($0) }
                        r.pointee.withTextBytes { t in
                            let direction = MessageState.direction(agent: r.pointee.agentRef.bytes(in: t), receivedFromOutside: fromOutside).rawValue
                            let domain = domains.domain(of: r.pointee.recipientRef.bytes(in: t))
                            rollup.count(firstSeen: firstSeen, origin: origin, status: r.pointee.outcome.rawValue, direction: direction,
                                         domain: domain, returned: r.pointee.returned, 1)
                            deliveries.add(id)
                            deliveries.add(i)
                            deliveries.add(r.pointee.recipientRef, in: t)
                            deliveries.add(r.pointee.origRecipientRef, in: t)
                            deliveries.add(r.pointee.outcome.rawValue)
                            deliveries.add(r.pointee.returned)
                            deliveries.add(r.pointee.attempts)
                            deliveries.add(r.pointee.firstAttempt)
                            deliveries.add(r.pointee.lastAttempt)
                            deliveries.add(r.pointee.dsnRef, in: t)
                            deliveries.add(r.pointee.relayRef, in: t)
                            deliveries.add(r.pointee.reasonRef, in: t)
                            deliveries.add(r.pointee.agentRef, in: t)
                            deliveries.add(direction)
                            deliveries.add(domain)
                            deliveries.add(delay)
                        }
                        deliveries.add(text: AttemptLog.stored(r, delay: delay))
                    }
                }
            }
        }
        try messages.insert(upsertMessages, db)
        try deliveries.insert(upsertDeliveries, db)
        if !raw.refs.isEmpty {
            var block = RawStatement(try db.cachedStatement(sql: "INSERT INTO raw_blocks (codec, size, last_seen, data) VALUES (?, ?, ?, ?)"))
            block.bind(raw.codec)
            block.bind(raw.size)
            block.bind(raw.lastSeen)
            block.bind(blob: raw.data)
            try block.run(db)
            let blockID = db.lastInsertedRowID
            var refs = RowBatch(columns: 4, rows: raw.refs.count)
            for r in raw.refs {
                refs.add(r.messageID)
                refs.add(blockID)
                refs.add(Int64(r.offset))
                refs.add(Int64(r.length))
            }
            try refs.insert(insertRawRefs, db)
        }
        var rejections = RowBatch(columns: rejectionColumns.count, rows: out.rejections.count)
        out.rejections.withUnsafeBufferPointer { all in
            for i in all.indices {
                let r = UnsafeMutablePointer(mutating: all.baseAddress! + i)
                rollup.rejection(time: r.pointee.time)
                rejections.add(r.pointee.time)
                rejections.add(inPlace: &r.pointee.host)
                rejections.add(inPlace: &r.pointee.queueID)
                rejections.add(inPlace: &r.pointee.daemon)
                rejections.add(inPlace: &r.pointee.stage)
                rejections.add(inPlace: &r.pointee.clientHost)
                rejections.add(inPlace: &r.pointee.clientIP)
                rejections.add(inPlace: &r.pointee.sender)
                rejections.add(inPlace: &r.pointee.recipient)
                rejections.add(r.pointee.code)
                rejections.add(inPlace: &r.pointee.dsn)
                rejections.add(inPlace: &r.pointee.reason)
                rejections.add(inPlace: &r.pointee.line)
            }
        }
        try rejections.insert(insertRejections, db)
        var logins = RowBatch(columns: authColumns.count, rows: out.authEvents.count)
        out.authEvents.withUnsafeBufferPointer { all in
            for i in all.indices {
                let e = UnsafeMutablePointer(mutating: all.baseAddress! + i)
                logins.add(e.pointee.time)
                logins.add(inPlace: &e.pointee.ip)
                logins.add(inPlace: &e.pointee.user)
                logins.add(inPlace: &e.pointee.proto)
                logins.add(e.pointee.success)
                logins.add(e.pointee.count)
                logins.add(inPlace: &e.pointee.reason)
                logins.add("log")
            }
        }
        try logins.insert(insertLogins, db)
        for c in checkpoints {
            try db.cachedStatement(sql: """
                INSERT INTO checkpoints (source, lines, offset, last_time, last_hash, same_time_lines, identity, complete, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(source) DO UPDATE SET lines = excluded.lines, offset = excluded.offset,
                    last_time = excluded.last_time, last_hash = excluded.last_hash,
                    same_time_lines = excluded.same_time_lines, identity = excluded.identity,
                    complete = excluded.complete, updated_at = excluded.updated_at
                """).execute(arguments: [c.source, c.lines, c.offset, c.lastTime, c.lastHash, c.sameTimeLines, c.identity, c.complete,
                                         Int64(Date().timeIntervalSince1970)])
        }
        try db.cachedStatement(sql: "INSERT INTO meta (key, value) VALUES ('next_id', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value")
            .execute(arguments: [String(nextID)])
        try setMeta(sessionsKey, StoredSessions.encode(out.sessions), db)
    }

    /// The SMTP sessions open at the last checkpoint (`StoredSessions`).
    static let sessionsKey = "tracker_sessions"

    /// The checkpoint of a source, if any.
    public func checkpoint(_ source: String) throws -> Checkpoint? {
        try reader.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM checkpoints WHERE source = ?", arguments: [source]) else {
                return nil
            }
            var c = Checkpoint(source: row["source"], lines: row["lines"], offset: row["offset"], lastTime: row["last_time"],
                               lastHash: row["last_hash"], sameTimeLines: row["same_time_lines"], identity: row["identity"])
            c.complete = row["complete"]
            return c
        }
    }

    /// The live messages and open SMTP sessions of a previous run and the next message id, to resume tracking.
    public func loadTrackerState() throws -> (messages: [MessageState], sessions: [SessionState], nextID: Int64) {
        try reader.read { db in
            let sessions = try Self.meta(Self.sessionsKey, db).map(StoredSessions.decode) ?? []
            let decoder = JSONDecoder()
            let next = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'next_id'").flatMap { Int64($0) }
            let maxID = try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM messages") ?? 0
            var messages: [MessageState] = []
            let rows = try Row.fetchCursor(db, sql: "SELECT * FROM messages WHERE complete = 0")
            while let row = try rows.next() {
                var m = MessageState(id: row["id"], host: row["host"], queueID: row["queue_id"], time: row["first_seen"])
                m.queueIDs = (row["queue_ids"] as String).split(separator: ";").map(String.init)
                m.messageID = row["message_id"]
                m.sender = row["sender"]
                m.size = row["size"]
                m.nrcpt = row["nrcpt"]
                m.clientHost = row["client_host"]
                m.clientIP = row["client_ip"]
                m.saslUsername = row["sasl_username"]
                m.origin = Origin(rawValue: row["origin"]) ?? .unknown
                m.parentID = row["parent_id"]
                m.lastSeen = row["last_seen"]
                m.expired = row["expired"]
                m.rejected = row["rejected"]
                if let text: String = row["live_state"], let s = try? decoder.decode(LiveState.self, from: Data(text.utf8)) {
                    m.liveQueues = s.liveQueues
                    m.awaitingChildren = s.awaitingChildren
                    m.hops = s.hops
                    m.notified = s.notified
                }
                let drows = try Row.fetchAll(db, sql: "SELECT * FROM deliveries WHERE message_id = ? ORDER BY idx", arguments: [m.id])
                m.recipients = drows.map { d in
                    var r = RecipientState(recipient: d["recipient"], origRecipient: d["orig_recipient"])
                    r.outcome = Outcome(rawValue: d["status"]) ?? .pending
                    r.returned = d["returned"]
                    r.attempts = d["attempts"]
                    r.firstAttempt = d["first_attempt"]
                    r.lastAttempt = d["last_attempt"]
                    r.dsn = d["dsn"]
                    r.relay = d["relay"]
                    r.reason = d["reason"]
                    r.agent = d["agent"]
                    r.log = AttemptLog.decode(row: d)
                    return r
                }
                messages.append(m)
            }
            return (messages, sessions, max(next ?? 1, maxID + 1))
        }
    }
}

/// Attempts of a recipient as a JSON array, written by hand into bytes (this runs for every delivery).
///
/// Most deliveries have one attempt, which the delivery's columns already hold (time, status, dsn,
/// relay, reply, agent and the last attempt's delay): their `log` is stored empty and read back from
/// the columns (`decode(row:)`; in SQL, `sql(_:)`).
public enum AttemptLog {
    public static func encode(_ log: [Attempt]) -> String {
        String(decoding: bytes(log), as: UTF8.self)
    }

    /// The JSON as UTF-8 bytes (bound to the statement as they are).
    static func bytes(_ log: [Attempt]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + log.count * 160)
        out.append(UInt8(ascii: "["))
        for (i, a) in log.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            raw("{\"time\":", &out)
            raw(String(a.time), &out)
            raw(",\"status\":", &out)
            quote(a.status, &out)
            raw(",\"dsn\":", &out)
            if let d = a.dsn { quote(d, &out) } else { raw("null", &out) }
            raw(",\"relay\":", &out)
            quote(a.relay, &out)
            raw(",\"reply\":", &out)
            quote(a.reply, &out)
            raw(",\"delay\":", &out)
            if let d = a.delay, d.isFinite { raw(String(d), &out) } else { raw("null", &out) }
            raw(",\"agent\":", &out)
            quote(a.agent, &out)
            raw(a.hop ? ",\"hop\":true}" : ",\"hop\":false}", &out)
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    public static func decode(_ text: String) -> [Attempt] {
        (try? JSONDecoder().decode([Attempt].self, from: Data(text.utf8))) ?? []
    }

    /// The one attempt a delivery's columns describe.
    static func described(time: Int64?, status: String, dsn: String?, relay: String?, reply: String?, delay: Double?,
                          agent: String?) -> Attempt? {
        guard let time, let relay, let reply, let agent else { return nil }
        return Attempt(time: time, status: status, dsn: dsn, relay: relay, reply: reply, delay: delay, agent: agent, hop: false)
    }

    /// What a delivery's `log` column holds: nothing when its columns give back its one attempt exactly
    /// (`delay` is bound to its `delay` column), else the JSON of every attempt.
    static func stored(_ r: UnsafeMutablePointer<RecipientState>, delay: Double?) -> [UInt8] {
        if describedByColumns(r, delay: delay) { return [] }
        return bytes(r.pointee.log)
    }

    /// Whether `described` of a recipient's columns gives its attempts back: one, equal to it. Read in
    /// place, from the recipient's buffer.
    static func describedByColumns(_ r: UnsafeMutablePointer<RecipientState>, delay: Double?) -> Bool {
        guard r.pointee.entries.count == 1, r.pointee.firstAttempt == r.pointee.lastAttempt, let time = r.pointee.firstAttempt,
              !r.pointee.relayRef.isNone, !r.pointee.reasonRef.isNone, !r.pointee.agentRef.isNone else { return false }
        let e = r.pointee.entries[0]
        guard e.time == time, !e.hop, (e.hasDelay ? e.delay : nil) == delay else { return false }
        var status = r.pointee.outcome.rawValue
        return r.pointee.withTextBytes { t in
            status.withUTF8 { same(e.status.bytes(in: t), $0) }
                && same(t, e.dsn, r.pointee.dsnRef) && same(t, e.relay, r.pointee.relayRef)
                && same(t, e.reply, r.pointee.reasonRef) && same(t, e.agent, r.pointee.agentRef)
        }
    }

    /// Two strings of one buffer: the same place, or the same bytes (none only with none).
    static func same(_ t: UnsafeBufferPointer<UInt8>, _ a: TextRef, _ b: TextRef) -> Bool {
        if a == b { return true }
        if a.isNone || b.isNone { return false }
        return same(a.bytes(in: t), b.bytes(in: t))
    }

    static func same(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Bool {
        x.count == y.count && (x.isEmpty || memcmp(x.baseAddress!, y.baseAddress!, x.count) == 0)
    }

    /// The attempts of a `deliveries` row.
    public static func decode(row d: Row) -> [Attempt] {
        let text: String = d["log"]
        if !text.isEmpty { return decode(text) }
        guard let a = described(time: d["first_attempt"], status: d["status"], dsn: d["dsn"], relay: d["relay"], reply: d["reason"],
                                delay: d["delay"], agent: d["agent"]) else { return [] }
        return [a]
    }

    /// The attempts of the `deliveries` row named `d` as a JSON array, in SQL.
    static func sql(_ d: String) -> String {
        """
            (CASE WHEN \(d).log != '' THEN \(d).log ELSE json_array(json_object('time', \(d).first_attempt, 'status', \(d).status,
                'dsn', \(d).dsn, 'relay', \(d).relay, 'reply', \(d).reason, 'delay', \(d).delay, 'agent', \(d).agent,
                'hop', json('false'))) END)
            """
    }

    @inline(__always)
    static func raw(_ s: String, _ out: inout [UInt8]) {
        out.append(contentsOf: s.utf8)
    }

    static func quote(_ v: String, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var v = v
        v.withUTF8 { bytes in
            // Most values need no escape: copied whole.
            if !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
                out.append(contentsOf: bytes)
                return
            }
            for b in bytes {
                switch b {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\\")); out.append(b)
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\")); out.append(b)
                case 0x0A: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "n"))
                case 0x0D: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "r"))
                case 0x09: out.append(UInt8(ascii: "\\")); out.append(UInt8(ascii: "t"))
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(contentsOf: Array("\\u00".utf8))
                    out.append(hex[Int(b >> 4)])
                    out.append(hex[Int(b & 15)])
                default: out.append(b)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Open SMTP sessions as JSON: their lines in base64 (bytes as they were read, not necessarily UTF-8).
enum StoredSessions {
    struct Stored: Codable {
        var host: String
        var pid: Int32
        var clientHost: String
        var clientIP: String
        var start: Int64
        var lines: String
        var saslUser: String?
    }

    static func encode(_ sessions: [SessionState]) -> String {
        guard !sessions.isEmpty else { return "[]" }
        let stored = sessions.map {
            Stored(host: $0.host, pid: $0.pid, clientHost: $0.clientHost, clientIP: $0.clientIP, start: $0.start,
                   lines: Data($0.lines).base64EncodedString(), saslUser: $0.saslUser)
        }
        return (try? String(decoding: JSONEncoder().encode(stored), as: UTF8.self)) ?? "[]"
    }

    /// What `encode` wrote; nothing from text that is not (the lines of a session are not worth an error).
    static func decode(_ text: String) -> [SessionState] {
        guard let stored = try? JSONDecoder().decode([Stored].self, from: Data(text.utf8)) else { return [] }
        return stored.map {
            SessionState(host: $0.host, pid: $0.pid, clientHost: $0.clientHost, clientIP: $0.clientIP, start: $0.start,
                         lines: Array(Data(base64Encoded: $0.lines) ?? Data()), saslUser: $0.saslUser)
        }
    }
}
