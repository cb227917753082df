import GRDB

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
            return try Row.fetchAll(db, sql: """
                SELECT (bucket * 900 - ?) / 3600, direction, status, SUM(n) FROM rollup_status
                WHERE size = 900 AND bucket >= ? AND bucket < ? GROUP BY 1, 2, 3 ORDER BY 1
                """, arguments: [off, from / Rollup.statusBucket, (to + Rollup.statusBucket - 1) / Rollup.statusBucket]).map {
                HourCount(hour: ($0[0] as Int64) * 3600 + off, direction: $0[1], status: $0[2], count: $0[3])
            }
        }
    }

    /// The outbound recipient domains (after domain mapping) with the most deliveries of `status`
    /// (every status when nil), first seen in [from, to) (to the hour).
    public func topDomains(from: Int64, to: Int64, status: String?, limit: Int = 20) throws -> [(domain: String, count: Int)] {
        try reader.read { db in
            let lo = from / Rollup.domainBucket * Rollup.domainBucket
            let hi = (to + Rollup.domainBucket - 1) / Rollup.domainBucket * Rollup.domainBucket
            let pieces = Rollup.pieces(lo, hi, sizes: Rollup.domainSizes)
            guard !pieces.isEmpty else { return [] }
            // One query: each piece is a range of the primary key.
            var sql = "SELECT domain, SUM(n) AS total FROM rollup_domain WHERE ("
            sql += pieces.map { "(size = \($0.size) AND bucket >= \($0.from) AND bucket < \($0.to))" }.joined(separator: " OR ")
            sql += ")"
            var args: StatementArguments = []
            if let status {
                sql += " AND status = ?"
                args += [status]
            }
            sql += " GROUP BY domain HAVING total > 0 ORDER BY total DESC, domain LIMIT ?"
            args += [limit]
            return try Row.fetchAll(db, sql: sql, arguments: args).map { ($0[0], $0[1]) }
        }
    }
}
