import GRDB
import Tracking

/// Counts kept beside the deliveries so that the dashboard never scans them: per interval of the
/// messages' first appearance, direction and status (`returned` and `rejected` too), and per interval,
/// recipient domain and status for outbound deliveries. Each is kept at several interval sizes (a
/// quarter hour, an hour and a day for statuses; an hour, a day and a week for domains) so that a long period
/// sums few rows: whole weeks, then whole days, then the hours at its edges. Counted like the export:
/// notifications the server generated are not messages. Every write moves the counts by what changed:
/// what a message counted when it was saved before is taken back first.
struct Rollup {
    static let statusBucket: Int64 = 900
    static let domainBucket: Int64 = 3600
    static let statusSizes: [Int64] = [900, 3600, 86400]
    static let domainSizes: [Int64] = [3600, 86400, 604_800, 2_419_200]
    /// From this size up, a domain also has a row of every status together (`*`): the busiest domains
    /// of a long period sum one row per domain and interval.
    static let allStatusFrom: Int64 = 86400
    static let allStatuses = "*"
    /// Rows counting at least this many are in a partial index: the top domains start from them.
    nonisolated(unsafe) static var largeCount = 100
    /// Failures are rarer: their rows counting at least 10 have partial indexes of their own (migration v13).
    static let failureStatuses: Set<String> = ["bounced", "deferred", "expired"]
    static func largeCount(for status: String) -> Int {
        failureStatuses.contains(status) ? min(largeCount, 10) : largeCount
    }
    /// How many of an interval's largest rows name the candidates for the top domains.
    nonisolated(unsafe) static var topPerInterval = 100
    /// Every status a delivery can have (`Outcome`'s values).
    static let outcomes = Outcome.allCases.map(\.rawValue).sorted()

    /// Counts are kept per quarter hour (statuses) and per hour (domains) while a transaction is
    /// written, and summed into the larger intervals when they are applied: one dictionary update per
    /// delivery instead of one per interval size.
    struct StatusKey: Hashable { var bucket: Int64; var direction: String; var status: String }
    struct DomainKey: Hashable { var bucket: Int64; var domain: String; var status: String }
    struct SizedStatusKey: Hashable { var size: Int64; var bucket: Int64; var direction: String; var status: String }
    struct SizedDomainKey: Hashable { var size: Int64; var bucket: Int64; var domain: String; var status: String }

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

    /// The status counts at every size.
    func statusRows() -> [SizedStatusKey: Int] {
        var rows: [SizedStatusKey: Int] = [:]
        rows.reserveCapacity(status.count * 2)
        for (k, n) in status where n != 0 {
            let time = k.bucket * Self.statusBucket
            for size in Self.statusSizes {
                rows[SizedStatusKey(size: size, bucket: time / size, direction: k.direction, status: k.status), default: 0] += n
            }
        }
        return rows
    }

    /// The domain counts at every size (only the hours' with `coarse` false), with the `*` rows of the larger ones.
    func domainRows(coarse: Bool = true) -> [SizedDomainKey: Int] {
        var rows: [SizedDomainKey: Int] = [:]
        rows.reserveCapacity(domain.count * (coarse ? 3 : 1))
        let sizes = coarse ? Self.domainSizes : [Self.domainBucket]
        for (k, n) in domain where n != 0 {
            Self.add(n, hour: k.bucket, domain: k.domain, status: k.status, sizes: sizes, to: &rows)
        }
        return rows
    }

    /// Adds `n`, counted in hour number `hour`, to the rows of each of `sizes` (and to the `*` rows of the larger ones).
    @inline(__always)
    static func add(_ n: Int, hour: Int64, domain: String, status: String, sizes: [Int64], to rows: inout [SizedDomainKey: Int]) {
        let time = hour * domainBucket
        for size in sizes {
            rows[SizedDomainKey(size: size, bucket: time / size, domain: domain, status: status), default: 0] += n
            if size >= allStatusFrom {
                rows[SizedDomainKey(size: size, bucket: time / size, domain: domain, status: allStatuses), default: 0] += n
            }
        }
    }

    /// [lo, hi) as aligned intervals, the largest first: (size, first bucket, end bucket).
    static func pieces(_ lo: Int64, _ hi: Int64, sizes: [Int64]) -> [(size: Int64, from: Int64, to: Int64)] {
        guard lo < hi, let size = sizes.last else { return [] }
        let smaller = Array(sizes.dropLast())
        let a = (lo + size - 1) / size, b = hi / size
        if smaller.isEmpty || a >= b {
            if smaller.isEmpty { return [(size, lo / size, (hi + size - 1) / size)] }
            return pieces(lo, hi, sizes: smaller)
        }
        return pieces(lo, a * size, sizes: smaller) + [(size, a, b)] + pieces(b * size, hi, sizes: smaller)
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

    /// The hours whose domain counts changed.
    var domainHours: ClosedRange<Int64>? {
        var lo = Int64.max, hi = Int64.min
        for (k, n) in domain where n != 0 {
            lo = min(lo, k.bucket)
            hi = max(hi, k.bucket)
        }
        return lo <= hi ? lo...hi : nil
    }

    /// Writes the counts. With `coarseDomains` false (a bulk load), the domains' counts go to the
    /// hours' rows only; the end of the bulk load sums the larger intervals from them (`coarseDomainRows`).
    func apply(_ db: Database, coarseDomains: Bool = true) throws {
        let status = statusRows()
        if !status.isEmpty {
            var st = RawStatement(try db.cachedStatement(sql: """
                INSERT INTO rollup_status (size, bucket, direction, status, n) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(size, bucket, direction, status) DO UPDATE SET n = n + excluded.n
                """))
            for (k, n) in status where n != 0 {
                st.bind(k.size)
                st.bind(k.bucket)
                st.bind(k.direction)
                st.bind(k.status)
                st.bind(n)
                try st.run(db)
            }
        }
        try Self.addDomainRows(Self.inKeyOrder(domainRows(coarse: coarseDomains)), db)
    }

    /// Domain rows that count something, in the order of the table's key: written in that order, the
    /// B-tree is walked once, not jumped around.
    static func inKeyOrder(_ rows: [SizedDomainKey: Int]) -> [(key: SizedDomainKey, value: Int)] {
        rows.filter { $0.value != 0 }.sorted { a, b in
            if a.key.size != b.key.size { return a.key.size < b.key.size }
            if a.key.status != b.key.status { return a.key.status < b.key.status }
            if a.key.bucket != b.key.bucket { return a.key.bucket < b.key.bucket }
            return a.key.domain < b.key.domain
        }
    }

    /// Adds counts to the domain rows (`inKeyOrder`'s), making the rows that are not there.
    static func addDomainRows(_ rows: [(key: SizedDomainKey, value: Int)], _ db: Database) throws {
        guard !rows.isEmpty else { return }
        var batch = RowBatch(columns: 5, rows: rows.count)
        for (k, n) in rows {
            batch.add(k.size)
            batch.add(k.bucket)
            batch.add(k.domain)
            batch.add(k.status)
            batch.add(n)
        }
        try batch.insert(upsertDomainRows, db)
    }

    static let upsertDomainRows = RowBatch.insertSQL("rollup_domain", ["size", "bucket", "domain", "status", "n"],
                                                     tail: "ON CONFLICT(size, status, bucket, domain) DO UPDATE SET n = n + excluded.n")

    /// The intervals of the largest size (numbered from 1970) that overlap hours `hours`: the larger
    /// intervals are summed again one of these at a time (each holds whole days and weeks).
    static func coarseWindows(_ hours: ClosedRange<Int64>) -> ClosedRange<Int64> {
        let per = domainSizes.last! / domainBucket
        return (hours.lowerBound / per)...(hours.upperBound / per)
    }

    /// Deletes the domain rows of the larger intervals that overlap hours `hours` (`coarseDomainRows`
    /// gives them again).
    static func deleteCoarseDomains(hours: ClosedRange<Int64>, _ db: Database) throws {
        let statuses = outcomes.map { "'\($0)'" }.joined(separator: ", ")
        for size in domainSizes where size > domainBucket {
            let per = size / domainBucket
            try db.execute(sql: "DELETE FROM rollup_domain WHERE size = ? AND status IN (\(statuses), '\(allStatuses)') AND bucket BETWEEN ? AND ?",
                           arguments: [size, hours.lowerBound / per, hours.upperBound / per])
        }
    }

    /// The domain rows of the larger intervals that overlap hours `hours` and lie in `window` (an
    /// interval of the largest size), summed from the hours' rows (which every write keeps exact) as
    /// `domainRows` sums a transaction's, in the order of the table's key (`inKeyOrder`). Only reads:
    /// another connection may make them while the writer builds the search indexes.
    static func coarseDomainRows(window windowNumber: Int64, hours: ClosedRange<Int64>, _ db: Database) throws -> [(key: SizedDomainKey, value: Int)] {
        let per = domainSizes.last! / domainBucket
        precondition(domainSizes.allSatisfy { per % ($0 / domainBucket) == 0 }, "each interval size divides the largest")
        let statuses = outcomes.map { "'\($0)'" }.joined(separator: ", ")
        let rows = try Row.fetchCursor(db, sql: """
            SELECT status, bucket, domain, n FROM rollup_domain
            WHERE size = ? AND status IN (\(statuses)) AND bucket BETWEEN ? AND ?
            """, arguments: [domainBucket, windowNumber * per, (windowNumber + 1) * per - 1])
        // Each hour's row (one per hour, domain and status) summed straight into the larger intervals:
        // neither the hours themselves nor room for three rows per hour (a window of 71,000 hour rows
        // took 29 MB at once, 10M lines' peak of memory).
        let sizes = domainSizes.filter { $0 > domainBucket }
        var sums: [SizedDomainKey: Int] = [:]
        while let r = try rows.next() {
            let n: Int = r[3]
            if n != 0 { add(n, hour: r[1], domain: r[2], status: r[0], sizes: sizes, to: &sums) }
        }
        // Only the intervals that overlap the hours summed again: the others are left as they are.
        return inKeyOrder(sums.filter { k, _ in
            let p = k.size / domainBucket
            return k.bucket >= hours.lowerBound / p && k.bucket <= hours.upperBound / p
        })
    }

    /// Creates the tables and counts what is stored already.
    static func migrate(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE rollup_status (size INTEGER NOT NULL, bucket INTEGER NOT NULL, direction TEXT NOT NULL, status TEXT NOT NULL,
                n INTEGER NOT NULL, PRIMARY KEY (size, bucket, direction, status)) WITHOUT ROWID;
            CREATE TABLE rollup_domain (size INTEGER NOT NULL, bucket INTEGER NOT NULL, domain TEXT NOT NULL, status TEXT NOT NULL,
                n INTEGER NOT NULL, PRIMARY KEY (size, bucket, domain, status)) WITHOUT ROWID;
            """)
        let statusSQL = [
            """
            INSERT INTO rollup_status (size, bucket, direction, status, n)
                SELECT ?1, m.first_seen / ?1, d.direction, d.status, COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
                WHERE m.origin != 'notification' GROUP BY 2, 3, 4
            """,
            """
            INSERT INTO rollup_status (size, bucket, direction, status, n)
                SELECT ?1, m.first_seen / ?1, d.direction, 'returned', COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
                WHERE m.origin != 'notification' AND d.returned GROUP BY 2, 3
            """,
            """
            INSERT INTO rollup_status (size, bucket, direction, status, n)
                SELECT ?1, time / ?1, 'inbound', 'rejected', COUNT(*) FROM rejections GROUP BY 2
            """,
        ]
        for size in statusSizes {
            for sql in statusSQL { try db.execute(sql: sql, arguments: [size]) }
        }
        for size in domainSizes {
            try db.execute(sql: """
                INSERT INTO rollup_domain (size, bucket, domain, status, n)
                    SELECT ?1, m.first_seen / ?1, d.domain, d.status, COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
                    WHERE m.origin != 'notification' AND d.direction = 'outbound' GROUP BY 2, 3, 4
                """, arguments: [size])
        }
        try addAllStatusRows(db)
    }

    /// The `*` rows of the larger sizes, from the per-status rows (and the 4-week rows from the weeks).
    static func addAllStatusRows(_ db: Database) throws {
        try db.execute(sql: "DELETE FROM rollup_domain WHERE status = '*'")
        try db.execute(sql: """
            INSERT INTO rollup_domain (size, bucket, domain, status, n)
                SELECT size, bucket, domain, '*', SUM(n) FROM rollup_domain WHERE size >= ? GROUP BY size, bucket, domain
            """, arguments: [allStatusFrom])
    }
}
