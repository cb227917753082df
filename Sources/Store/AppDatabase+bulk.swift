import Foundation
import GRDB

/// Bulk loads. The indexes that only searches use have random keys (queue ids, message-ids,
/// senders, recipients): every insert lands on some page of each, and every commit writes those
/// pages again. While a large import catches up, they are set aside and built once at its end, which
/// sorts their keys instead. A bulk load that did not end (the process was killed) is finished when
/// the workspace is next opened: the indexes' definitions wait in `meta` until then.
extension AppDatabase {
    /// The search indexes, by name. Their definitions are read from the schema when they are set aside.
    static let searchIndexes = [
        "messages_queue_id", "messages_message_id", "messages_sender", "deliveries_recipient",
        "deliveries_orig_recipient", "rejections_sender", "rejections_recipient",
    ]
    static let bulkLoadKey = "bulk_load_indexes"

    /// Whether the search indexes are set aside (a bulk load under way).
    public func isBulkLoading() throws -> Bool {
        try reader.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [Self.bulkLoadKey]) != nil }
    }

    /// Drops the search indexes, keeping their definitions in `meta` (in the caller's transaction).
    static func setSearchIndexesAside(_ db: Database) throws {
        guard try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [bulkLoadKey]) == nil else { return }
        var definitions: [String: String] = [:]
        for name in searchIndexes {
            if let sql = try String.fetchOne(db, sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [name]) {
                definitions[name] = sql
            }
        }
        let json = String(decoding: try JSONEncoder().encode(definitions), as: UTF8.self)
        try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?)", arguments: [bulkLoadKey, json])
        for name in definitions.keys.sorted() { try db.execute(sql: "DROP INDEX \(name.quotedDatabaseIdentifier)") }
    }

    /// Builds the search indexes set aside by a bulk load, if any. Returns how many were built.
    @discardableResult
    public func restoreSearchIndexes() throws -> Int {
        try Self.restoreSearchIndexes(writer)
    }

    @discardableResult
    static func restoreSearchIndexes(_ writer: any DatabaseWriter) throws -> Int {
        let pending = try writer.read { db -> Bool in
            try db.tableExists("meta")
                && String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [bulkLoadKey]) != nil
        }
        guard pending else { return 0 }
        return try writer.writeWithoutTransaction { db in
            // The sorts of CREATE INDEX spill to temporary files, not to memory (temp_store is MEMORY
            // for queries), and use the second core, idle now that the import has ended.
            try db.execute(sql: "PRAGMA temp_store = FILE")
            try db.execute(sql: "PRAGMA threads = 1")
            defer {
                try? db.execute(sql: "PRAGMA temp_store = MEMORY")
                try? db.execute(sql: "PRAGMA threads = 0")
            }
            var built = 0
            try db.inTransaction {
                guard let json = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [bulkLoadKey]) else {
                    return .commit
                }
                let definitions = (try? JSONDecoder().decode([String: String].self, from: Data(json.utf8))) ?? [:]
                for (name, sql) in definitions.sorted(by: { $0.key < $1.key }) where try !db.indexExists(name) {
                    try db.execute(sql: sql)
                    built += 1
                }
                try db.execute(sql: "DELETE FROM meta WHERE key = ?", arguments: [bulkLoadKey])
                return .commit
            }
            return built
        }
    }
}

extension Database {
    func indexExists(_ name: String) throws -> Bool {
        try Bool.fetchOne(self, sql: "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'index' AND name = ?", arguments: [name]) ?? false
    }
}
