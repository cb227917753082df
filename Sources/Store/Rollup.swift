import GRDB
import Tracking

/// Counts kept beside the deliveries so that the dashboard never scans them: per quarter hour of the
/// messages' first appearance, direction and status (`returned` and `rejected` too), and per hour,
/// recipient domain and status for outbound deliveries. Counted like the export: notifications the
/// server generated are not messages. Every write moves the counts by what changed: what a message
/// counted when it was saved before is taken back first.
struct Rollup {
    static let statusBucket: Int64 = 900
    static let domainBucket: Int64 = 3600

    struct StatusKey: Hashable { var bucket: Int64; var direction: String; var status: String }
    struct DomainKey: Hashable { var bucket: Int64; var domain: String; var status: String }

    var status: [StatusKey: Int] = [:]
    var domain: [DomainKey: Int] = [:]

    mutating func count(firstSeen: Int64, origin: String, status s: String, direction: String, domain d: String,
                        returned: Bool, _ sign: Int) {
        guard origin != Origin.notification.rawValue else { return }
        let b = firstSeen / Self.statusBucket
        status[StatusKey(bucket: b, direction: direction, status: s), default: 0] += sign
        if returned { status[StatusKey(bucket: b, direction: direction, status: "returned"), default: 0] += sign }
        if direction == Direction.outbound.rawValue {
            domain[DomainKey(bucket: firstSeen / Self.domainBucket, domain: d, status: s), default: 0] += sign
        }
    }

    mutating func rejection(time: Int64, _ sign: Int = 1) {
        status[StatusKey(bucket: time / Self.statusBucket, direction: Direction.inbound.rawValue, status: "rejected"), default: 0] += sign
    }

    /// Takes back what the stored rows of message `id` count.
    mutating func subtractStored(_ id: Int64, _ db: Database) throws {
        let rows = try Row.fetchCursor(db.cachedStatement(sql: """
            SELECT m.first_seen, m.origin, d.status, d.direction, d.domain, d.returned
            FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE d.message_id = ?
            """), arguments: [id])
        while let r = try rows.next() {
            count(firstSeen: r[0], origin: r[1], status: r[2], direction: r[3], domain: r[4], returned: r[5], -1)
        }
    }

    /// Takes back what the messages of `ids` (a comma-separated list of ids) count.
    mutating func subtractStored(list ids: String, _ db: Database) throws {
        let rows = try Row.fetchCursor(db, sql: """
            SELECT m.first_seen, m.origin, d.status, d.direction, d.domain, d.returned
            FROM deliveries d JOIN messages m ON m.id = d.message_id WHERE d.message_id IN (\(ids))
            """)
        while let r = try rows.next() {
            count(firstSeen: r[0], origin: r[1], status: r[2], direction: r[3], domain: r[4], returned: r[5], -1)
        }
    }

    func apply(_ db: Database) throws {
        if !status.isEmpty {
            let st = try db.cachedStatement(sql: """
                INSERT INTO rollup_status (bucket, direction, status, n) VALUES (?, ?, ?, ?)
                ON CONFLICT(bucket, direction, status) DO UPDATE SET n = n + excluded.n
                """)
            for (k, n) in status where n != 0 { try st.execute(arguments: [k.bucket, k.direction, k.status, n]) }
        }
        if !domain.isEmpty {
            let st = try db.cachedStatement(sql: """
                INSERT INTO rollup_domain (bucket, domain, status, n) VALUES (?, ?, ?, ?)
                ON CONFLICT(bucket, domain, status) DO UPDATE SET n = n + excluded.n
                """)
            for (k, n) in domain where n != 0 { try st.execute(arguments: [k.bucket, k.domain, k.status, n]) }
        }
    }

    /// Creates the tables and counts what is stored already.
    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE rollup_status (bucket INTEGER NOT NULL, direction TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL,
                PRIMARY KEY (bucket, direction, status)) WITHOUT ROWID;
            CREATE TABLE rollup_domain (bucket INTEGER NOT NULL, domain TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL,
                PRIMARY KEY (bucket, domain, status)) WITHOUT ROWID;
            INSERT INTO rollup_status (bucket, direction, status, n)
                SELECT m.first_seen / 900, d.direction, d.status, COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
                WHERE m.origin != 'notification' GROUP BY 1, 2, 3;
            INSERT INTO rollup_status (bucket, direction, status, n)
                SELECT m.first_seen / 900, d.direction, 'returned', COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
                WHERE m.origin != 'notification' AND d.returned GROUP BY 1, 2;
            INSERT INTO rollup_status (bucket, direction, status, n)
                SELECT time / 900, 'inbound', 'rejected', COUNT(*) FROM rejections GROUP BY 1;
            INSERT INTO rollup_domain (bucket, domain, status, n)
                SELECT m.first_seen / 3600, d.domain, d.status, COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
                WHERE m.origin != 'notification' AND d.direction = 'outbound' GROUP BY 1, 2, 3;
            """)
    }
}
