import GRDB

extension AppDatabase {
    /// The newest time in the database (the newest message or rejection), if any.
    public func newestTime() throws -> Int64? {
        try reader.read { db in
            // first_seen and time are indexed: no table scan.
            let m = try Int64.fetchOne(db, sql: "SELECT MAX(first_seen) FROM messages")
            let r = try Int64.fetchOne(db, sql: "SELECT MAX(time) FROM rejections")
            switch (m, r) {
            case let (a?, b?): return max(a, b)
            case let (a?, nil): return a
            case let (nil, b?): return b
            default: return nil
            }
        }
    }

    /// Deletes finished messages last seen before `cutoff`, with their deliveries and raw lines, and
    /// rejections before it, in transactions of `batch` rows so that writers are never held up long.
    /// Deleting a large share of the messages (the first import of old logs) sets the search indexes
    /// aside meanwhile and builds them again at the end, like a bulk load (AppDatabase+bulk), in
    /// transactions of `bulkBatch` rows. Returns the number of messages and rejections deleted.
    @discardableResult
    public func deleteOlderThan(_ cutoff: Int64, batch: Int = 2000, bulkBatch: Int = 50_000,
                                bulkFrom: Int = AppDatabase.bulkRetentionMessages) throws -> Int {
        // The hourly retention deletes little: the whole table is counted only when that may pay.
        let bulk = try reader.read { db in
            let old = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages WHERE first_seen < ?", arguments: [cutoff]) ?? 0
            return try old >= bulkFrom && old * 5 >= (Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages") ?? 0)
        }
        if bulk { try setSearchIndexesAside() }
        do {
            let total = try deleteOlderThan(cutoff, batch: bulk ? bulkBatch : batch)
            if bulk { try finishBulkLoad() }
            return total
        } catch {
            if bulk { _ = try? finishBulkLoad() }
            throw error
        }
    }

    /// Deletions from this many messages on (and a fifth of those stored) set the search indexes aside.
    public static let bulkRetentionMessages = 50_000

    private func deleteOlderThan(_ cutoff: Int64, batch: Int) throws -> Int {
        var total = 0
        while true {
            let n = try writer.write { db -> Int in
                let ids = try Int64.fetchAll(db, sql: """
                    SELECT id FROM messages WHERE first_seen < ? AND last_seen < ? AND complete = 1 LIMIT ?
                    """, arguments: [cutoff, cutoff, batch])
                guard !ids.isEmpty else { return 0 }
                let list = ids.map(String.init).joined(separator: ",")
                var rollup = Rollup()
                try rollup.subtractStored(list: list, db)
                try rollup.apply(db)
                try db.execute(sql: "DELETE FROM raw_refs WHERE message_id IN (\(list))")
                try db.execute(sql: "DELETE FROM deliveries WHERE message_id IN (\(list))")
                try db.execute(sql: "DELETE FROM messages WHERE id IN (\(list))")
                return ids.count
            }
            total += n
            if n < batch { break }
        }
        // Blocks no message points into any more.
        try writer.write { db in
            try db.execute(sql: """
                DELETE FROM raw_blocks WHERE last_seen < ? AND NOT EXISTS (SELECT 1 FROM raw_refs WHERE raw_refs.block_id = raw_blocks.id)
                """, arguments: [cutoff])
        }
        while true {
            let n = try writer.write { db -> Int in
                let rows = try Row.fetchAll(db, sql: "SELECT id, time FROM rejections WHERE time < ? LIMIT ?", arguments: [cutoff, batch])
                guard !rows.isEmpty else { return 0 }
                var rollup = Rollup()
                for r in rows { rollup.rejection(time: r[1], -1) }
                try rollup.apply(db)
                try db.execute(sql: "DELETE FROM rejections WHERE id IN (\(rows.map { String($0[0] as Int64) }.joined(separator: ",")))")
                return rows.count
            }
            total += n
            if n < batch { break }
        }
        try writer.write { db in
            try db.execute(sql: "DELETE FROM auth_events WHERE time < ?", arguments: [cutoff])
        }
        return total
    }

    /// Applies a retention of `days` days, counted back from the newest data.
    @discardableResult
    public func applyRetention(days: Int) throws -> Int {
        guard let newest = try newestTime() else { return 0 }
        return try deleteOlderThan(newest - Int64(days) * 86400)
    }
}
