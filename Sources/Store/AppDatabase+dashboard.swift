import GRDB
import GRDBSQLite

/// What the dashboard shows, read from the rollups (never from the deliveries themselves).
extension AppDatabase {
    public static let dashboardStatuses = ["sent", "bounced", "deferred", "expired", "rejected", "returned"]

    /// Outcomes of the messages first seen in [from, to) (Unix times, multiples of 15 minutes), per status.
    public func statusCounts(from: Int64, to: Int64) throws -> [String: Int] {
        try reader.read { db in
            var out = Dictionary(uniqueKeysWithValues: Self.dashboardStatuses.map { ($0, 0) })
            let statement = try db.cachedStatement(sql: """
                SELECT status, SUM(n) FROM rollup_status WHERE size = ? AND bucket >= ? AND bucket < ? GROUP BY status
                """)
            for p in Rollup.pieces(from, to, sizes: Rollup.statusSizes) {
                let rows = try Row.fetchCursor(statement, arguments: [p.size, p.from, p.to])
                while let r = try rows.next() { out[r[0], default: 0] += r[1] as Int }
            }
            return out
        }
    }

    public struct HourCount: Sendable, Equatable {
        /// Start of the hour (Unix time), hours aligned to `offset` seconds past UTC hours.
        public var hour: Int64
        public var direction: String
        public var status: String
        public var count: Int
    }

    /// The counts per hour, direction and status in [from, to). `offset`: where the local hours start
    /// past the UTC hour (1800 for +05:30).
    public func hourlyCounts(from: Int64, to: Int64, offset: Int64 = 0) throws -> [HourCount] {
        try reader.read { db in
            let off = ((offset % 3600) + 3600) % 3600
            var out: [HourCount] = []
            // Rows come in primary-key order (bucket first): summed here per hour, no sort in SQLite.
            var currentHour = Int64.min
            var inHour: [String: Int] = [:]
            func add(_ hour: Int64, _ direction: String, _ status: String, _ n: Int) {
                if hour != currentHour {
                    currentHour = hour
                    inHour.removeAll(keepingCapacity: true)
                }
                let key = direction + "/" + status
                if let i = inHour[key] {
                    out[i].count += n
                } else {
                    inHour[key] = out.count
                    out.append(HourCount(hour: hour, direction: direction, status: status, count: n))
                }
            }
            if off == 0 {
                // Whole-hour time zones (nearly all): the hourly rollup.
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT bucket, direction, status, n FROM rollup_status WHERE size = 3600 AND bucket >= ? AND bucket < ?
                    """, arguments: [from / 3600, (to + 3599) / 3600])
                while let r = try rows.next() { add((r[0] as Int64) * 3600, r[1], r[2], r[3]) }
            } else {
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT bucket, direction, status, n FROM rollup_status WHERE size = 900 AND bucket >= ? AND bucket < ?
                    """, arguments: [from / Rollup.statusBucket, (to + Rollup.statusBucket - 1) / Rollup.statusBucket])
                while let r = try rows.next() {
                    let t = (r[0] as Int64) * 900
                    add((t - off).floorDiv(3600) * 3600 + off, r[1], r[2], r[3])
                }
            }
            return out.filter { $0.count != 0 }
        }
    }

    /// The counts per "direction/status" in each interval [b[k], b[k+1]) of `boundaries` (increasing
    /// multiples of 15 minutes: local days, DST included). Reads one row set per UTC day in the period
    /// and, for each boundary, the hours and quarter hours between it and the nearer UTC midnight:
    /// a local day off UTC's by 5 hours costs 5 hourly rows a side, not 24. Counts before a boundary
    /// are a running sum over the days plus (or minus) its hours.
    public func intervalCounts(boundaries b: [Int64]) throws -> [[String: Int]] {
        guard b.count >= 2 else { return [] }
        precondition(b.allSatisfy { $0 % Rollup.statusBucket == 0 }, "boundaries must be multiples of 15 minutes")
        let day: Int64 = 86400
        return try reader.read { db in
            let firstDay = b[0].floorDiv(day), lastDay = b[b.count - 1].floorDiv(day) + 1
            let days = Int(lastDay - firstDay)
            var perDay = [[String: Int]](repeating: [:], count: days)
            let rows = try Row.fetchCursor(db, sql: """
                SELECT bucket, direction, status, n FROM rollup_status WHERE size = 86400 AND bucket >= ? AND bucket < ?
                """, arguments: [firstDay, lastDay])
            while let r = try rows.next() {
                perDay[Int((r[0] as Int64) - firstDay)][(r[1] as String) + "/" + (r[2] as String), default: 0] += r[3] as Int
            }
            // prefix[j]: the counts of the days firstDay ..< firstDay + j.
            var prefix: [[String: Int]] = [[:]]
            var running: [String: Int] = [:]
            for counts in perDay {
                for (k, n) in counts { running[k, default: 0] += n }
                prefix.append(running)
            }
            let range = try db.cachedStatement(sql: """
                SELECT direction, status, n FROM rollup_status WHERE size = ? AND bucket >= ? AND bucket < ?
                """)
            /// Adds `sign` times the counts of [lo, hi) (multiples of 15 minutes within one day) to `into`.
            func add(_ lo: Int64, _ hi: Int64, _ sign: Int, _ into: inout [String: Int]) throws {
                for p in Rollup.pieces(lo, hi, sizes: [900, 3600]) {
                    let rows = try Row.fetchCursor(range, arguments: [p.size, p.from, p.to])
                    while let r = try rows.next() { into[(r[0] as String) + "/" + (r[1] as String), default: 0] += sign * (r[2] as Int) }
                }
            }
            // Counts before each boundary, from firstDay.
            var before: [[String: Int]] = []
            for t in b {
                let d = t.floorDiv(day)
                let j = Int(d - firstDay)
                if t - d * day <= day / 2 {
                    var c = prefix[j]
                    try add(d * day, t, 1, &c)
                    before.append(c)
                } else {
                    var c = prefix[j + 1]
                    try add(t, (d + 1) * day, -1, &c)
                    before.append(c)
                }
            }
            return (0..<(b.count - 1)).map { k in
                var out: [String: Int] = [:]
                for (key, n) in before[k + 1] { out[key] = n - before[k][key, default: 0] }
                for (key, n) in before[k] where before[k + 1][key] == nil { out[key] = -n }
                return out.filter { $0.value != 0 }
            }
        }
    }

    /// The outbound recipient domains (after domain mapping) with the most deliveries of `status`
    /// (every status when nil), first seen in [from, to) (to the hour).
    public func topDomains(from: Int64, to: Int64, status: String?, limit: Int = 20) throws -> [(domain: String, count: Int)] {
        try reader.read { db in
            var lo = from / Rollup.domainBucket * Rollup.domainBucket
            var hi = (to + Rollup.domainBucket - 1) / Rollup.domainBucket * Rollup.domainBucket
            // Nothing is counted before the oldest message nor after the newest: a period that reaches
            // past either (the usual "last 30 days") is widened to the largest interval's edge
            // there, so that it is summed from a few long intervals instead of many days.
            let largest = Rollup.domainSizes.last!
            if let newest = try Int64.fetchOne(db, sql: "SELECT MAX(first_seen) FROM messages"), hi > newest {
                hi = max(hi, (hi + largest - 1) / largest * largest)
            }
            if let oldest = try Int64.fetchOne(db, sql: "SELECT MIN(first_seen) FROM messages"), lo <= oldest {
                lo = min(lo, lo / largest * largest)
            }
            let pieces = Rollup.pieces(lo, hi, sizes: Rollup.domainSizes)
            guard !pieces.isEmpty else { return [] }
            // Every status: the `*` rows of days and longer; the hours at the edges have per-status rows
            // only. Statuses are named (not !=): the key is (size, status, bucket, domain).
            func statuses(_ p: (size: Int64, from: Int64, to: Int64)) -> [String] {
                if let status { return [status] }
                return p.size >= Rollup.allStatusFrom ? [Rollup.allStatuses] : Rollup.outcomes
            }
            func top(_ totals: [String: Int]) -> [(domain: String, count: Int)] {
                totals.filter { $0.value > 0 }.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
                    .prefix(limit).map { ($0.key, $0.value) }
            }
            // First the domains among the largest counts of each interval (a partial index holds the
            // large rows, in order): a domain not among them counts at most the smallest of those in
            // each interval, `bound` in all. When the last of the top domains among the candidates
            // counts more, they are the top, summed exactly from their own rows.
            let perInterval = Rollup.topPerInterval
            // The hours at the edges (per-status rows, few) are read whole: `edge` is exact for every
            // domain. The days and longer intervals give the candidates and the bound.
            let edgePieces = pieces.filter { $0.size < Rollup.allStatusFrom }
            let longPieces = pieces.filter { $0.size >= Rollup.allStatusFrom }
            /// Every row of the pieces, summed per domain: each piece is a range of the primary key,
            /// summed here (a hash, not SQLite's sorter).
            func sumRanges(_ ps: [(size: Int64, from: Int64, to: Int64)]) throws -> [String: Int] {
                var sql: [String] = []
                var args: StatementArguments = []
                for p in ps {
                    for st in statuses(p) {
                        sql.append("(size = \(p.size) AND status = ? AND bucket >= \(p.from) AND bucket < \(p.to))")
                        args += [st]
                    }
                }
                guard !sql.isEmpty else { return [:] }
                return try Self.sumByDomain(db, "SELECT domain, n FROM rollup_domain WHERE " + sql.joined(separator: " OR "), args)
            }
            let edge = try sumRanges(edgePieces)
            var bound = 0
            var found = Set<String>()
            for p in longPieces {
                for st in statuses(p) {
                    // Literals (a known status, a threshold): only then does SQLite know which partial
                    // index applies (a parameter could be anything).
                    let threshold = Rollup.largeCount(for: st)
                    let statusSQL = Rollup.failureStatuses.contains(st) ? "status = '\(st)'" : "status = ?"
                    let largestRows = try db.cachedStatement(sql: """
                        SELECT domain, n FROM rollup_domain WHERE size = ? AND \(statusSQL) AND bucket = ? AND n >= \(threshold)
                        ORDER BY n DESC LIMIT ?
                        """)
                    for b in p.from..<p.to {
                        let args: StatementArguments = Rollup.failureStatuses.contains(st) ? [p.size, b, perInterval] : [p.size, st, b, perInterval]
                        let rows = try Row.fetchAll(largestRows, arguments: args)
                        for r in rows { found.insert(r[0]) }
                        bound += rows.count == perInterval ? rows[rows.count - 1][1] as Int : threshold - 1
                    }
                }
            }
            let candidates = Array(found)
            if !longPieces.isEmpty && candidates.count >= limit {
                var sql: [String] = []
                var args: StatementArguments = []
                let domainList = Array(repeating: "?", count: candidates.count).joined(separator: ", ")
                for p in longPieces {
                    let buckets = (p.from..<p.to).map(String.init).joined(separator: ", ")
                    for st in statuses(p) {
                        sql.append("(size = \(p.size) AND status = ? AND bucket IN (\(buckets)) AND domain IN (\(domainList)))")
                        args += [st]
                        args += StatementArguments(candidates)
                    }
                }
                var totals = try Self.sumByDomain(db, "SELECT domain, n FROM rollup_domain WHERE " + sql.joined(separator: " OR "), args)
                for (d, n) in edge where found.contains(d) { totals[d, default: 0] += n }
                // A domain outside the candidates: at most `bound` in the long intervals, plus its edges.
                let outside = bound + (edge.filter { !found.contains($0.key) }.values.max() ?? 0)
                let result = top(totals)
                if result.count == limit, result[limit - 1].count > outside { return result }
            }
            // Otherwise every row of the long intervals, with the edges already read.
            var totals = try sumRanges(longPieces)
            for (d, n) in edge { totals[d, default: 0] += n }
            return top(totals)
        }
    }

    /// Sums `n` per domain over the rows of `sql` (domain, n). Tens of thousands of rows for a long
    /// period: read with SQLite's C API (no Row, no DatabaseValue per column).
    static func sumByDomain(_ db: Database, _ sql: String, _ args: StatementArguments) throws -> [String: Int] {
        var totals: [String: Int] = [:]
        totals.reserveCapacity(4096)
        let statement = try db.makeStatement(sql: sql)
        statement.arguments = args
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        while true {
            let rc = sqlite3_step(handle)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
            }
            let n = Int(sqlite3_column_int64(handle, 1))
            guard let text = sqlite3_column_text(handle, 0) else { continue }
            let domain = String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, 0))), as: UTF8.self)
            totals[domain, default: 0] += n
        }
        return totals
    }
}

extension AppDatabase {
    /// Counts per direction and status of the messages first seen in [from, to) (multiples of 15 minutes).
    public func countsByDirection(from: Int64, to: Int64) throws -> [String: [String: Int]] {
        try reader.read { db in
            var out: [String: [String: Int]] = [:]
            let statement = try db.cachedStatement(sql: """
                SELECT direction, status, SUM(n) FROM rollup_status WHERE size = ? AND bucket >= ? AND bucket < ? GROUP BY direction, status
                """)
            for p in Rollup.pieces(from / 900 * 900, (to + 899) / 900 * 900, sizes: Rollup.statusSizes) {
                let rows = try Row.fetchCursor(statement, arguments: [p.size, p.from, p.to])
                while let r = try rows.next() { out[r[0], default: [:]][r[1], default: 0] += r[2] as Int }
            }
            return out
        }
    }

    /// Recipients still waiting in the queue after a deferral, and the first attempt of the oldest.
    public func pendingDeferred() throws -> (count: Int, oldest: Int64?) {
        try reader.read { db in
            let row = try Row.fetchOne(db, sql: """
                SELECT COUNT(*), MIN(COALESCE(d.first_attempt, m.first_seen)) FROM messages m JOIN deliveries d ON d.message_id = m.id
                WHERE m.complete = 0 AND d.status = 'deferred'
                """)!
            return (row[0], row[1])
        }
    }

    public struct FailedDelivery: Sendable, Equatable {
        public var time: Int64
        public var recipient: String
        public var domain: String
        public var status: String
        public var dsn: String?
        public var relay: String?
        public var reason: String
        public var queueID: String
    }

    /// Outbound deliveries that bounced or were deferred, of the messages first seen in [from, to).
    /// The most failed deliveries a window returns.
    public static let failedDeliveriesLimit = 50_000

    public func failedDeliveries(from: Int64, to: Int64, limit: Int = AppDatabase.failedDeliveriesLimit) throws -> [FailedDelivery] {
        try reader.read { db in
            try Row.fetchAll(db, sql: """
                SELECT COALESCE(d.last_attempt, m.first_seen) AS t, d.recipient, d.domain, d.status, d.dsn, d.relay, d.reason, m.queue_id
                FROM messages m JOIN deliveries d ON d.message_id = m.id
                WHERE m.first_seen >= ? AND m.first_seen < ? AND d.status IN ('bounced', 'deferred', 'expired') AND d.direction = 'outbound'
                    AND d.reason IS NOT NULL
                ORDER BY t LIMIT ?
                """, arguments: [from, to, limit]).map {
                FailedDelivery(time: $0[0], recipient: $0[1], domain: $0[2], status: $0[3], dsn: $0[4], relay: $0[5], reason: $0[6], queueID: $0[7])
            }
        }
    }

    /// The oldest time in the database, if any.
    public func oldestTime() throws -> Int64? {
        try reader.read { db in
            let m = try Int64.fetchOne(db, sql: "SELECT MIN(first_seen) FROM messages")
            let r = try Int64.fetchOne(db, sql: "SELECT MIN(time) FROM rejections")
            return [m, r].compactMap { $0 }.min()
        }
    }
}

extension AppDatabase {
    /// The start of the last quarter hour with any message or rejection before `time`.
    public func lastActivity(before time: Int64) throws -> Int64? {
        try reader.read { db in
            try Int64.fetchOne(db, sql: "SELECT MAX(bucket) FROM rollup_status WHERE size = 900 AND bucket < ? AND n > 0",
                               arguments: [time / 900]).map { $0 * 900 }
        }
    }

    /// Outbound deliveries per sender domain of the messages first seen in [from, to): (total, bounced).
    public func outboundBySenderDomain(from: Int64, to: Int64) throws -> [String: (total: Int, bounced: Int)] {
        try reader.read { db in
            var out: [String: (total: Int, bounced: Int)] = [:]
            let rows = try Row.fetchCursor(db, sql: """
                SELECT lower(substr(m.sender, instr(m.sender, '@') + 1)) AS d, COUNT(*), SUM(d.status = 'bounced')
                FROM messages m JOIN deliveries d ON d.message_id = m.id
                WHERE m.first_seen >= ? AND m.first_seen < ? AND d.direction = 'outbound' AND m.origin != 'notification'
                    AND instr(m.sender, '@') > 0
                GROUP BY d
                """, arguments: [from, to])
            while let r = try rows.next() { out[r[0]] = (r[1], r[2]) }
            return out
        }
    }

    /// Whether an insight of `kind` (and `key` prefix) was stored at or after `since`.
    public func hasInsight(kind: String, keyPrefix: String? = nil, since: Int64) throws -> Bool {
        try reader.read { db in
            try Bool.fetchOne(db, sql: """
                SELECT EXISTS (SELECT 1 FROM insights WHERE kind = ? AND time >= ? AND (? IS NULL OR key LIKE ? || '%'))
                """, arguments: [kind, since, keyPrefix, keyPrefix]) ?? false
        }
    }
}

extension Int64 {
    /// Division rounding toward minus infinity.
    func floorDiv(_ d: Int64) -> Int64 { self >= 0 ? self / d : -((-self + d - 1) / d) }
}
