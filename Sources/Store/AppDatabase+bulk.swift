import Foundation
import GRDB

/// Bulk loads. The indexes that only searches use have random keys (queue ids, message-ids,
/// senders, recipients): every insert lands on some page of each, and every commit writes those
/// pages again. While a large import catches up, they are set aside and built once at its end, which
/// sorts their keys instead. Likewise the domains' counts of days, weeks and four weeks (each
/// transaction would update them all again): only the hours' are written, and the larger intervals
/// are summed from them at the end. A bulk load that did not end (the process was killed) is
/// finished when the workspace is next opened: the indexes' definitions and the range of hours
/// wait in `meta` until then.
extension AppDatabase {
    /// The search indexes, by name. Their definitions are read from the schema when they are set aside.
    static let searchIndexes = [
        "messages_queue_id", "messages_queue_id2", "messages_message_id", "messages_sender", "deliveries_recipient",
        "deliveries_orig_recipient", "rejections_sender", "rejections_recipient",
    ]
    static let bulkLoadKey = "bulk_load_indexes"
    /// The hours whose domain counts a bulk load wrote ("first last", hour numbers since 1970).
    static let bulkRollupKey = "bulk_load_rollup_hours"

    /// Whether a bulk load is under way (or was cut short).
    public func isBulkLoading() throws -> Bool {
        try reader.read { try Self.isBulkLoading($0) }
    }

    static func isBulkLoading(_ db: Database) throws -> Bool {
        try meta(bulkLoadKey, db) != nil
    }

    /// Widens the range of hours whose larger intervals the end of the bulk load sums again.
    static func widenBulkRollupHours(_ hours: ClosedRange<Int64>, _ db: Database) throws {
        var range = hours
        if let old = try meta(bulkRollupKey, db).flatMap(parseHours) {
            range = min(old.lowerBound, hours.lowerBound)...max(old.upperBound, hours.upperBound)
        }
        try setMeta(bulkRollupKey, "\(range.lowerBound) \(range.upperBound)", db)
    }

    static func parseHours(_ text: String) -> ClosedRange<Int64>? {
        let parts = text.split(separator: " ").compactMap { Int64($0) }
        guard parts.count == 2, parts[0] <= parts[1] else { return nil }
        return parts[0]...parts[1]
    }

    /// Begins a bulk load: drops the search indexes, keeping their definitions in `meta`, in a
    /// transaction of its own whose statement journals go to temporary files (in memory, dropping the
    /// indexes of 600,000 messages took some 50 MB).
    func setSearchIndexesAside() throws {
        try writer.writeWithoutTransaction { db in
            try Self.withTemporaryFiles(db) {
                try db.inTransaction {
                    try Self.setSearchIndexesAside(db)
                    return .commit
                }
            }
        }
    }

    static func setSearchIndexesAside(_ db: Database) throws {
        guard try !isBulkLoading(db) else { return }
        var definitions: [String: String] = [:]
        for name in searchIndexes {
            if let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [name]) {
                definitions[name] = sql
            }
        }
        try addPendingIndexes(definitions, db)
        for name in definitions.keys.sorted() { try db.execute(sql: "DROP INDEX \(name.quotedDatabaseIdentifier)") }
    }

    /// The definitions of the indexes a bulk load (or a migration) left to its end, by name; nil when none.
    static func pendingIndexes(_ db: Database) throws -> [String: String]? {
        try meta(bulkLoadKey, db).map { (try? JSONDecoder().decode([String: String].self, from: Data($0.utf8))) ?? [:] }
    }

    /// Leaves `definitions` to be built at the end of the bulk load, with those waiting already.
    static func addPendingIndexes(_ definitions: [String: String], _ db: Database) throws {
        let all = (try pendingIndexes(db) ?? [:]).merging(definitions) { _, new in new }
        try setMeta(bulkLoadKey, String(decoding: try JSONEncoder().encode(all), as: UTF8.self), db)
    }

    /// Ends a bulk load, if one is under way: sums the larger intervals of the domains' counts and
    /// builds the search indexes. Returns how many indexes were built.
    @discardableResult
    public func finishBulkLoad() throws -> Int {
        try Self.finishBulkLoad(writer)
    }

    @discardableResult
    static func finishBulkLoad(_ writer: any DatabaseWriter) throws -> Int {
        // On the writer's connection: opening a workspace needs no reader yet.
        let pending = try writer.writeWithoutTransaction { db -> (Bool, ClosedRange<Int64>?) in
            guard try db.tableExists("meta") else { return (false, nil) }
            let n = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM meta WHERE key IN (?, ?)", arguments: [bulkLoadKey, bulkRollupKey])!
            return (n > 0, try meta(bulkRollupKey, db).flatMap(parseHours))
        }
        guard pending.0 else { return 0 }
        // The larger intervals of the domains' counts are summed from the hours' rows (committed, and
        // not changed by what follows) by another thread while this one builds the indexes: the sums
        // are mostly reading, and the import's end waits for this transaction only.
        let coarse = pending.1.map { CoarseSums(hours: $0, pool: writer as? DatabasePool) }
        defer { coarse?.cancel() }
        return try writer.writeWithoutTransaction { db in
            // The sorts of CREATE INDEX spill to temporary files in runs of 4 MB (the size of the page
            // cache then): memory stays bounded whatever the size of the tables.
            try db.execute(sql: "PRAGMA cache_size = -4096")
            defer { try? db.execute(sql: "PRAGMA cache_size = -16384") }
            var built = 0
            try Self.withTemporaryFiles(db) {
                try db.inTransaction {
                    if let definitions = try pendingIndexes(db) {
                        for (name, sql) in definitions.sorted(by: { $0.key < $1.key }) where try !db.indexExists(name) {
                            try db.execute(sql: sql)
                            built += 1
                        }
                    }
                    if let coarse {
                        try Rollup.deleteCoarseDomains(hours: coarse.hours, db)
                        for w in coarse.windows { try Rollup.addDomainRows(coarse.rows(w, db), db) }
                    }
                    try db.execute(sql: "DELETE FROM meta WHERE key IN (?, ?)", arguments: [bulkLoadKey, bulkRollupKey])
                    return .commit
                }
            }
            return built
        }
    }

    /// Runs `body` with SQLite's temporary files (statement journals, sorts) on disk: temp_store is
    /// MEMORY for the queries, where a bulk load's work would hold tens of MB.
    static func withTemporaryFiles<T>(_ db: Database, _ body: () throws -> T) throws -> T {
        try db.execute(sql: "PRAGMA temp_store = FILE")
        defer { try? db.execute(sql: "PRAGMA temp_store = MEMORY") }
        return try body()
    }
}

extension Database {
    func indexExists(_ name: String) throws -> Bool {
        try Bool.fetchOne(self, sql: "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [name]) ?? false
    }
}

/// The rows of the larger intervals of a bulk load's domain counts (`Rollup.coarseDomainRows`), one
/// interval of the largest size after the other: made by a thread of their own from a pool's reader
/// (at most two ahead of those taken, so that memory stays bounded), or on the writer's connection
/// when there is no pool.
final class CoarseSums: @unchecked Sendable {
    let hours: ClosedRange<Int64>
    let windows: ClosedRange<Int64>
    private let parallel: Bool
    private let lock = NSCondition()
    private var made: [Int64: Result<[(key: Rollup.SizedDomainKey, value: Int)], any Error>] = [:]
    private var taken: Int64
    private var cancelled = false

    init(hours: ClosedRange<Int64>, pool: DatabasePool?) {
        self.hours = hours
        windows = Rollup.coarseWindows(hours)
        taken = windows.lowerBound
        parallel = pool != nil
        guard let pool else { return }
        BackgroundThread.start(name: "lightmeter.coarse-sums") { [self] in
            for w in windows {
                let go = lock.withLock { () -> Bool in
                    while !cancelled && w - taken >= 2 { lock.wait() }
                    return !cancelled
                }
                guard go else { return }
                let r = Result { try pool.read { try Rollup.coarseDomainRows(window: w, hours: hours, $0) } }
                lock.withLock {
                    made[w] = r
                    lock.broadcast()
                }
                if case .failure = r { return }
            }
        }
    }

    /// The rows of interval `w`, in the order of the windows.
    func rows(_ w: Int64, _ db: Database) throws -> [(key: Rollup.SizedDomainKey, value: Int)] {
        guard parallel else { return try Rollup.coarseDomainRows(window: w, hours: hours, db) }
        let r = lock.withLock { () -> Result<[(key: Rollup.SizedDomainKey, value: Int)], any Error> in
            while made[w] == nil { lock.wait() }
            taken = w + 1
            lock.broadcast()
            return made.removeValue(forKey: w)!
        }
        return try r.get()
    }

    /// Stops the thread that makes them (the transaction ended before it took them all).
    func cancel() {
        lock.withLock {
            cancelled = true
            lock.broadcast()
        }
    }
}
