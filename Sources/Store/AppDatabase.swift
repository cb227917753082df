import Foundation
import CSQLiteConfig
import GRDB
import Tracking

/// The workspace database: SQLite in WAL mode, schema through migrations, writes named by intent.
public struct AppDatabase: Sendable {
    public let writer: any DatabaseWriter
    /// Copies the WAL into the database on a connection and thread of its own (files only).
    let checkpointer: Checkpointer?

    public init(_ writer: any DatabaseWriter, checkpointer: Checkpointer? = nil) throws {
        self.writer = writer
        self.checkpointer = checkpointer
        // A bulk load cut short (the process was killed) is finished first, on the schema it knew.
        try Self.finishBulkLoad(writer)
        try Self.migrate(writer)
        // The indexes a migration left to be built (v16).
        try Self.finishBulkLoad(writer)
    }

    /// Tells the checkpointer that `bytes` more of log were written: after some 32 MB it copies the
    /// WAL into the database, on its own thread, while imports go on.
    public func wrote(bytes: Int) {
        checkpointer?.wrote(bytes: bytes)
    }

    /// After an import: copies the WAL into the database file on the checkpointer's thread, while
    /// what follows the import (the insights' replay) goes on. `waitForCheckpoint` waits for it. The
    /// WAL file keeps its size (cutting it takes half a second); the next write starts it again
    /// from its beginning and cuts it to 64 MB.
    public func checkpointAfterImport() {
        checkpointer?.checkpointNow()
    }

    /// Waits for a checkpoint under way, if any.
    public func waitForCheckpoint() {
        checkpointer?.wait()
    }

    /// SQLite's process-wide settings (`lm_sqlite_configure_process`: multi-thread mode, no memory
    /// statistics), made once before the first connection opens; every connection is opened here.
    static let sqliteConfigured = lm_sqlite_configure_process() == SQLITE_OK

    /// Opens (creating it if needed) the database file of a workspace directory.
    public static func open(workspace: String) throws -> AppDatabase {
        _ = sqliteConfigured
        try Workspace.prepare(workspace)
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA page_size = 16384")
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // 16 MB of page cache for the writer (an import's inserts), 4 MB for each reader (the
            // pages they read again are in the system's cache anyway; the insights' replay reads
            // while the writer builds the search indexes, and memory stays under 100 MB).
            // Checkpoints: the writer's own only as a backstop (512 MB of WAL); imports have the
            // checkpointer copy the WAL on another thread, so that the writer does not wait for the
            // disk's syncs. A WAL file grown large is cut back after its restart.
            try db.execute(sql: db.configuration.readonly ? "PRAGMA cache_size = -4096" : "PRAGMA cache_size = -16384")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 32768")
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            try noCheckpointOnClose(db)
            try registerRows(db)
        }
        config.busyMode = .timeout(10)
        let path = workspace + "/lightmeter.db"
        let pool = try DatabasePool(path: path, configuration: config)
        return try AppDatabase(pool, checkpointer: Checkpointer(path: path))
    }

    /// An in-memory database for tests.
    public static func inMemory() throws -> AppDatabase {
        _ = sqliteConfigured
        var config = Configuration()
        config.prepareDatabase { db in try registerRows(db) }
        return try AppDatabase(DatabaseQueue(configuration: config))
    }

    public var reader: any DatabaseReader { writer }

    /// The schema's migrations, in order: applied one transaction each by GRDB's migrator to a
    /// workspace that has some, all in one to a new workspace (`migrate`).
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        for (identifier, body) in migrations.items { m.registerMigration(identifier, migrate: body) }
        return m
    }

    /// Brings the schema up to date. A new, empty database gets every migration in one transaction,
    /// with their identifiers recorded as GRDB's migrator records them: the same schema (SchemaTests),
    /// 2 ms sooner than in seventeen transactions, each turning foreign keys off and checking them again
    /// (an empty `-importonly` in a new workspace: 16 ms instead of 18).
    static func migrate(_ writer: any DatabaseWriter) throws {
        let fresh = try writer.writeWithoutTransaction { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master")! == 0
        }
        guard fresh else { return try migrator.migrate(writer) }
        try writer.write { db in
            try db.execute(sql: "CREATE TABLE grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
            for (identifier, body) in migrations.items {
                try body(db)
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES (?)", arguments: [identifier])
            }
        }
    }

    /// Migrations as they are registered, for `migrator` and `migrate`.
    struct Migrations {
        var items: [(String, @Sendable (Database) throws -> Void)] = []

        mutating func registerMigration(_ identifier: String, migrate: @escaping @Sendable (Database) throws -> Void) {
            items.append((identifier, migrate))
        }
    }

    static var migrations: Migrations {
        var m = Migrations()
        m.registerMigration("v1: messages, deliveries, rejections, raw lines, checkpoints") { db in
            try db.create(table: "messages") { t in
                t.primaryKey("id", .integer)
                t.column("host", .text).notNull()
                t.column("queue_id", .text).notNull()
                t.column("queue_ids", .text).notNull()
                t.column("message_id", .text)
                t.column("sender", .text)
                t.column("size", .integer)
                t.column("nrcpt", .integer)
                t.column("client_host", .text)
                t.column("client_ip", .text)
                t.column("sasl_username", .text)
                t.column("origin", .text).notNull()
                t.column("parent_id", .integer)
                t.column("first_seen", .integer).notNull()
                t.column("last_seen", .integer).notNull()
                t.column("complete", .boolean).notNull()
                t.column("expired", .boolean).notNull()
                t.column("rejected", .boolean).notNull()
                /// Tracker state of a live message (queues still in the queue, hops awaited...); NULL once complete.
                t.column("live_state", .text)
            }
            try db.create(index: "messages_first_seen", on: "messages", columns: ["first_seen"])
            try db.create(index: "messages_queue_id", on: "messages", columns: ["queue_id"])
            try db.create(index: "messages_message_id", on: "messages", columns: ["message_id"])
            try db.create(index: "messages_sender", on: "messages", columns: ["sender"])
            try db.execute(sql: "CREATE INDEX messages_live ON messages(id) WHERE complete = 0")
            try db.create(table: "deliveries") { t in
                t.column("message_id", .integer).notNull().references("messages", onDelete: .cascade)
                t.column("idx", .integer).notNull()
                t.column("recipient", .text).notNull()
                t.column("orig_recipient", .text)
                t.column("status", .text).notNull()
                t.column("returned", .boolean).notNull()
                t.column("attempts", .integer).notNull()
                t.column("first_attempt", .integer)
                t.column("last_attempt", .integer)
                t.column("dsn", .text)
                t.column("relay", .text)
                t.column("reason", .text)
                t.column("agent", .text)
                t.column("direction", .text).notNull()
                t.column("domain", .text).notNull()
                /// Every attempt, as JSON (from v15 empty for a single attempt that the columns hold: AttemptLog).
                t.column("log", .text).notNull()
                t.primaryKey(["message_id", "idx"])
            }
            try db.create(index: "deliveries_recipient", on: "deliveries", columns: ["recipient"])
            try db.create(index: "deliveries_domain", on: "deliveries", columns: ["domain"])
            /// The raw lines of messages, one block per write batch: the messages' lines joined with
            /// newlines, compressed as a whole (`codec` 2: LZ4 block, 1: raw deflate, 0: none).
            try db.create(table: "raw_blocks") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("codec", .integer).notNull()
                t.column("size", .integer).notNull()
                t.column("last_seen", .integer).notNull()
                t.column("data", .blob).notNull()
            }
            /// Where a message's lines are in a block (offsets in the uncompressed block).
            try db.create(table: "raw_refs") { t in
                t.column("message_id", .integer).notNull().indexed()
                t.column("block_id", .integer).notNull().references("raw_blocks", onDelete: .cascade)
                t.column("offset", .integer).notNull()
                t.column("length", .integer).notNull()
            }
            try db.create(table: "rejections") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("time", .integer).notNull().indexed()
                t.column("host", .text).notNull()
                t.column("queue_id", .text)
                t.column("daemon", .text).notNull()
                t.column("stage", .text).notNull()
                t.column("client_host", .text)
                t.column("client_ip", .text)
                t.column("sender", .text)
                t.column("recipient", .text)
                t.column("code", .integer)
                t.column("dsn", .text)
                t.column("reason", .text).notNull()
                t.column("line", .text).notNull()
            }
            try db.create(table: "checkpoints") { t in
                t.primaryKey("source", .text)
                t.column("lines", .integer).notNull()
                t.column("offset", .integer).notNull()
                t.column("last_time", .integer).notNull()
                t.column("last_hash", .integer).notNull()
                /// Lines with the time of the last line, up to it (identical lines in one second).
                t.column("same_time_lines", .integer).notNull()
                t.column("identity", .text)
                /// The source was read to its end and will not grow (a rotated file).
                t.column("complete", .boolean).notNull().defaults(to: false)
                t.column("updated_at", .integer).notNull()
            }
            try db.create(table: "meta") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
        }
        m.registerMigration("v2: users, sessions, API tokens, settings") { db in
            try db.create(table: "users") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("name", .text).notNull()
                t.column("email", .text).notNull().unique().collate(.nocase)
                t.column("password_hash", .text).notNull()
                t.column("is_admin", .boolean).notNull()
                t.column("language", .text)
                t.column("created_at", .integer).notNull()
                /// Failed logins since the last success, and until when the account refuses logins.
                t.column("failed_logins", .integer).notNull().defaults(to: 0)
                t.column("locked_until", .integer).notNull().defaults(to: 0)
            }
            /// Sessions and tokens are kept by the SHA-256 of their secret, never the secret itself.
            try db.create(table: "sessions") { t in
                t.primaryKey("id_hash", .text)
                t.column("user_id", .integer).notNull().indexed().references("users", onDelete: .cascade)
                t.column("csrf_token", .text).notNull()
                t.column("created_at", .integer).notNull()
                t.column("expires_at", .integer).notNull()
            }
            try db.create(table: "api_tokens") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("user_id", .integer).notNull().indexed().references("users", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("token_hash", .text).notNull().unique()
                /// The first characters of the token, to tell tokens apart in lists.
                t.column("prefix", .text).notNull()
                t.column("created_at", .integer).notNull()
                t.column("last_used_at", .integer)
            }
            try db.create(table: "settings") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
        }
        m.registerMigration("v3: rollups for the dashboard") { db in
            try Rollup.migrate(db)
        }
        m.registerMigration("v4: the detective finds aliases") { db in
            try db.execute(sql: "CREATE INDEX deliveries_orig_recipient ON deliveries(orig_recipient) WHERE orig_recipient IS NOT NULL")
            try db.execute(sql: "CREATE INDEX rejections_sender ON rejections(sender)")
            try db.execute(sql: "CREATE INDEX rejections_recipient ON rejections(recipient)")
        }
        m.registerMigration("v5: insights") { db in
            try Self.migrateInsights(db)
        }
        m.registerMigration("v6: the notification outbox") { db in
            try Self.migrateOutbox(db)
        }
        m.registerMigration("v7: logins and the blocklist") { db in
            try Self.migrateLogins(db)
        }
        m.registerMigration("v8: hourly status rollups") { db in
            // From the quarter hours (a workspace that came through v3 with this code has them already).
            try db.execute(sql: "DELETE FROM rollup_status WHERE size = 3600")
            try db.execute(sql: """
                INSERT INTO rollup_status (size, bucket, direction, status, n)
                SELECT 3600, bucket / 4, direction, status, SUM(n) FROM rollup_status WHERE size = 900 GROUP BY bucket / 4, direction, status
                """)
        }
        m.registerMigration("v9: four-week and all-status domain rollups") { db in
            try db.execute(sql: "DELETE FROM rollup_domain WHERE size = 2419200")
            try db.execute(sql: """
                INSERT INTO rollup_domain (size, bucket, domain, status, n)
                SELECT 2419200, bucket / 4, domain, status, SUM(n) FROM rollup_domain WHERE size = 604800 AND status != '*'
                GROUP BY bucket / 4, domain, status
                """)
            try Rollup.addAllStatusRows(db)
        }
        m.registerMigration("v10: no index on the deliveries' domain") { db in
            // Nothing looks deliveries up by domain (the dashboard reads the rollups, the detective
            // the recipient): the index only cost every import a random insert per delivery.
            try db.execute(sql: "DROP INDEX IF EXISTS deliveries_domain")
        }
        m.registerMigration("v11: domain rollups keyed by size, status, interval, domain") { db in
            // The top domains of a period read one status (or `*`) over ranges of intervals: with the
            // status before the interval in the key, they read only those rows, not every status's.
            try db.execute(sql: """
                CREATE TABLE rollup_domain_v11 (size INTEGER NOT NULL, bucket INTEGER NOT NULL, domain TEXT NOT NULL,
                    status TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (size, status, bucket, domain)) WITHOUT ROWID;
                INSERT INTO rollup_domain_v11 (size, bucket, domain, status, n)
                    SELECT size, bucket, domain, status, n FROM rollup_domain WHERE n != 0 ORDER BY size, status, bucket, domain;
                DROP TABLE rollup_domain;
                ALTER TABLE rollup_domain_v11 RENAME TO rollup_domain;
                """)
        }
        m.registerMigration("v12: an index of the large domain counts") { db in
            // The few rows of big domains: the top domains of a long period start from them instead
            // of summing every domain's rows (Rollup.largeCount; the literal must match it).
            try db.execute(sql: "CREATE INDEX rollup_domain_large ON rollup_domain(size, status, bucket, n) WHERE n >= 100")
        }
        m.registerMigration("v13: indexes of the failures' larger domain counts") { db in
            // Bounces, deferrals and expiries rarely reach 100 per domain and interval: their top domains
            // start from the rows counting 10 or more (Rollup.largeCount(for:); few rows, cheap to keep).
            for status in ["bounced", "deferred", "expired"] {
                try db.execute(sql: "CREATE INDEX rollup_domain_\(status) ON rollup_domain(size, bucket, n) WHERE status = '\(status)' AND n >= 10")
            }
        }
        m.registerMigration("v14: raw line references by block") { db in
            // Retention deletes the blocks no message points into: the foreign key's check of each
            // block (and the search for blocks still used) scanned every reference without it.
            // Blocks are numbered in the order of writing: the index only ever grows at its end.
            try db.execute(sql: "CREATE INDEX raw_refs_block_id ON raw_refs(block_id)")
        }
        m.registerMigration("v15: the last attempt's delay; a delivery's one attempt kept by its columns") { db in
            // Most deliveries have one attempt, which the columns hold with this one: their `log` is
            // written empty instead of its JSON (AttemptLog.stored). Rows written before keep theirs.
            try db.execute(sql: "ALTER TABLE deliveries ADD COLUMN delay REAL")
        }
        m.registerMigration("v16: search indexes of hashed keys") { db in
            // The exact searches (a sender, a recipient, a message-id, a queue id) look up a 64-bit key of
            // the text (`lm_search_key`) and compare the texts of the rows found: the indexes of the keys
            // take less than half the room of those of the texts (5 MB against 12 MB for 1M lines), and
            // the end of a bulk load builds them in three quarters of the time (BENCHMARKS.md, session 15). They are built as at the end of a bulk
            // load (on temporary files, in bounded memory), by `init` once the migrations are done.
            var definitions: [String: String] = [:]
            for (name, column) in [("messages_queue_id", "messages(lm_search_key(queue_id))"),
                                   ("messages_message_id", "messages(lm_search_key(message_id))"),
                                   ("messages_sender", "messages(lm_search_key(sender))"),
                                   ("deliveries_recipient", "deliveries(lm_search_key(recipient))"),
                                   ("deliveries_orig_recipient", "deliveries(lm_search_key(orig_recipient)) WHERE orig_recipient IS NOT NULL"),
                                   ("rejections_sender", "rejections(lm_search_key(sender))"),
                                   ("rejections_recipient", "rejections(lm_search_key(recipient))")] {
                try db.execute(sql: "DROP INDEX IF EXISTS \(name)")
                definitions[name] = "CREATE INDEX \(name) ON \(column)"
            }
            try addPendingIndexes(definitions, db)
        }
        m.registerMigration("v17: the queue ids after a message's first in indexes too") { db in
            // A search by queue id looked at the first of a message's ids through its index, and at the
            // others (`queue_ids`: the queues of its content-filter hops) by reading every message. The
            // second id has an index of its own (a partial one: only the messages of several queues), and
            // the rare messages of three or more (two filters) one that lists them. Built like v16's.
            try addPendingIndexes([
                "messages_queue_id2": "CREATE INDEX messages_queue_id2 ON messages(lm_queue_key(queue_ids, 1)) WHERE queue_ids != queue_id",
                "messages_queue_ids_more": "CREATE INDEX messages_queue_ids_more ON messages(first_seen) WHERE queue_ids LIKE '%;%;%'",
            ], db)
        }
        return m
    }
}

/// The workspace directory: created on first run with owner-only permissions.
public enum Workspace {
    public static func prepare(_ path: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw WorkspaceError(message: "\(path) exists and is not a directory") }
        } else {
            do {
                try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw WorkspaceError(message: "cannot create the workspace \(path): \(error.localizedDescription)")
            }
        }
        guard fm.isWritableFile(atPath: path) else {
            throw WorkspaceError(message: "the workspace \(path) is not writable")
        }
    }
}

public struct WorkspaceError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The last connection to close does not copy the WAL into the database file, sync it and delete
/// the WAL (0.7 s after a large import): the WAL stays beside the database, part of it, and the
/// next opening goes on from it. What was committed is as safe as after any commit
/// (`synchronous = NORMAL`: a power cut may take back the last transactions, their checkpoints with them).
func noCheckpointOnClose(_ db: Database) throws {
    let rc = lm_sqlite_no_checkpoint_on_close(db.sqliteConnection, 1)
    guard rc == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: "SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE") }
}

/// Passive WAL checkpoints on a connection and a thread of their own: they copy what the writer
/// committed into the database file and sync it while the writer goes on. A passive checkpoint takes
/// no lock that writers or readers wait for.
public final class Checkpointer: @unchecked Sendable {
    let path: String
    private let queue = DispatchQueue(label: "lightmeter.checkpoint")
    private let lock = NSLock()
    private var connection: DatabaseQueue?
    private var bytesSince = 0
    private var running = false
    /// Log bytes written between two checkpoints.
    let every: Int

    init(path: String, every: Int = 32 << 20) {
        self.path = path
        self.every = every
    }

    func wrote(bytes: Int) {
        let start = lock.withLock { () -> Bool in
            bytesSince += bytes
            guard bytesSince >= every, !running else { return false }
            bytesSince = 0
            running = true
            return true
        }
        guard start else { return }
        queue.async { [self] in
            defer { lock.withLock { running = false } }
            checkpointInBackground()
        }
    }

    /// A passive checkpoint now, whatever was written since the last.
    func checkpointNow() {
        lock.withLock { bytesSince = 0 }
        queue.async { [self] in checkpointInBackground() }
    }

    /// Runs a checkpoint on a background thread (`BackgroundThread`) and waits for it: the queue's
    /// own thread may run other work later, at the priority it had.
    private func checkpointInBackground() {
        let done = DispatchSemaphore(value: 0)
        BackgroundThread.start(name: "lightmeter.checkpoint") { [self] in
            checkpoint()
            done.signal()
        }
        done.wait()
    }

    private func checkpoint() {
        do {
            if connection == nil {
                var config = Configuration()
                config.prepareDatabase { db in
                    try db.execute(sql: "PRAGMA synchronous = NORMAL")
                    try noCheckpointOnClose(db)
                    try registerRows(db)
                }
                config.busyMode = .timeout(10)
                connection = try DatabaseQueue(path: path, configuration: config)
            }
            try connection?.writeWithoutTransaction { db in _ = try db.checkpoint(.passive) }
        } catch {
            // The writer's own checkpoints remain: nothing is lost, the next call tries again.
        }
    }

    /// Waits for a running checkpoint (tests, a clean stop).
    public func wait() {
        queue.sync {}
    }
}

/// Threads of background work (the insights' replay after an import, WAL checkpoints, the sums of a bulk
/// load's end) yield the processor to the import's own threads: at the end of an import, the
/// building of the search indexes is the one thing everything waits for.
public enum BackgroundThread {
    /// How much the nice value of a background thread is raised.
    public static let niceness: Int32 = 5

    /// Runs `body` on a new thread of lower priority, which ends with it.
    public static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread {
            _ = lm_lower_thread_priority(niceness)
            body()
        }
        thread.name = name
        thread.start()
    }
}
