import Foundation
import GRDB

/// Something an administrator should know: a detector's finding, or a user's escalation.
public struct Insight: Sendable, Codable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "insights"
    public var id: Int64?
    public var time: Int64
    /// What found it: `detective_escalation`, `high_bounce_rate`...
    public var kind: String
    /// `local`, `comparative` or `news`.
    public var category: String
    /// `bad`, `ok` or `info`.
    public var rating: String
    public var title: String
    /// The evidence, as JSON text.
    public var details: String
    /// Two insights with the same key are one: a second is not stored.
    public var key: String
    public var active: Bool
    /// What the administrator said of it: useful or not.
    public var useful: Bool?

    public init(id: Int64? = nil, time: Int64, kind: String, category: String, rating: String, title: String,
                details: [String: String], key: String, active: Bool = true, useful: Bool? = nil) {
        self.id = id
        self.time = time
        self.kind = kind
        self.category = category
        self.rating = rating
        self.title = title
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        self.details = String(decoding: (try? e.encode(details)) ?? Data("{}".utf8), as: UTF8.self)
        self.key = key
        self.active = active
        self.useful = useful
    }

    public var detailValues: [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(details.utf8))) ?? [:]
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

public struct InsightFilter: Sendable {
    public var active: Bool?
    public var kind: String?
    public var category: String?
    public var from: Int64?
    public var to: Int64?
    public var limit = 100
    public init() {}
}

extension AppDatabase {
    static func migrateInsights(_ db: Database) throws {
        try db.create(table: "insights") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("time", .integer).notNull().indexed()
            t.column("kind", .text).notNull()
            t.column("category", .text).notNull()
            t.column("rating", .text).notNull()
            t.column("title", .text).notNull()
            t.column("details", .text).notNull()
            t.column("key", .text).notNull().unique()
            t.column("active", .boolean).notNull()
            t.column("useful", .boolean)
        }
    }

    /// Stores an insight unless one with its key exists. Returns it with its id, or nil if it existed.
    public func insertInsight(_ insight: Insight) throws -> Insight? {
        try writer.write { db in
            if try Insight.filter(Column("key") == insight.key).fetchCount(db) > 0 { return nil }
            var i = insight
            try i.insert(db)
            return i
        }
    }

    public func insights(_ f: InsightFilter) throws -> [Insight] {
        try reader.read { db in
            var q = Insight.all()
            if let a = f.active { q = q.filter(Column("active") == a) }
            if let k = f.kind { q = q.filter(Column("kind") == k) }
            if let c = f.category { q = q.filter(Column("category") == c) }
            if let from = f.from { q = q.filter(Column("time") >= from) }
            if let to = f.to { q = q.filter(Column("time") < to) }
            return try q.order(Column("time").desc, Column("id").desc).limit(f.limit).fetchAll(db)
        }
    }

    public func insight(id: Int64) throws -> Insight? {
        try reader.read { try Insight.fetchOne($0, key: id) }
    }

    @discardableResult
    public func archiveInsight(id: Int64) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: "UPDATE insights SET active = 0 WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    @discardableResult
    public func rateInsight(id: Int64, useful: Bool) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: "UPDATE insights SET useful = ? WHERE id = ?", arguments: [useful, id])
            return db.changesCount > 0
        }
    }
}

extension AppDatabase {
    public func meta(_ key: String) throws -> String? {
        try reader.read { try Self.meta(key, $0) }
    }

    public func setMeta(_ key: String, _ value: String) throws {
        try writer.write { try Self.setMeta(key, value, $0) }
    }

    /// A value of `meta`, within the caller's transaction.
    static func meta(_ key: String, _ db: Database) throws -> String? {
        try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = ?", arguments: [key])
    }

    static func setMeta(_ key: String, _ value: String, _ db: Database) throws {
        try db.execute(sql: "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                       arguments: [key, value])
    }
}
