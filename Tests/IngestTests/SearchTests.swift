import Foundation
import GRDB
import Ingest
@testable import Store
import Testing
import Tracking

/// The detective's search over a log with every state.
@Suite struct SearchTests {
    static let expiredLines = """
        Jan  1 12:00:00 m postfix/pickup[8]: 8888BBBB88: uid=0 from=<root>
        Jan  1 12:00:00 m postfix/cleanup[2]: 8888BBBB88: message-id=<cron@m.example>
        Jan  1 12:00:00 m postfix/qmgr[3]: 8888BBBB88: from=<root@m.example>, size=500, nrcpt=1 (queue active)
        Jan  1 12:00:01 m postfix/smtp[4]: 8888BBBB88: to=<ops@z.example>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to mx.z.example[192.0.2.99]:25: Connection refused)
        Jan  6 12:00:01 m postfix/qmgr[3]: 8888BBBB88: from=<root@m.example>, status=expired, returned to sender
        Jan  6 12:00:01 m postfix/qmgr[3]: 8888BBBB88: removed

        """

    static func workspace() throws -> (String, AppDatabase) {
        let ws = tempDir()
        _ = try importText(importLog + expiredLines, into: ws)
        return (ws, try AppDatabase.open(workspace: ws))
    }

    func ids(_ r: SearchResult) -> [String] { r.messages.map { $0.queueIDs.joined(separator: ";") } }

    @Test func everyStateAndField() throws {
        let (ws, db) = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        var q = SearchQuery()
        var r = try db.search(q)
        // Newest first; the notification is not a message of its own; the rejection comes apart.
        #expect(ids(r) == ["8888BBBB88", "5555EEEE55", "3333CCCC33;4444DDDD44"])
        #expect(r.rejections.count == 1 && r.rejections[0].recipient == "x@other.example")
        for (status, expected) in [(SearchStatus.bounced, ["5555EEEE55"]), (.deferred, ["5555EEEE55"]), (.returned, ["5555EEEE55"]),
                                   (.expired, ["8888BBBB88"]), (.received, ["3333CCCC33;4444DDDD44"]), (.sent, []), (.rejected, [])] {
            q = SearchQuery()
            q.status = status
            r = try db.search(q)
            #expect(ids(r) == expected, "\(status)")
            #expect(r.rejections.isEmpty == (status != .rejected), "\(status)")
        }
        let m = try #require(try db.search(SearchQuery()).messages.first { $0.queueIDs.first == "5555EEEE55" })
        let b = try #require(m.recipients.first { $0.recipient == "b@x.example" })
        #expect(b.status == "bounced" && b.returned && b.dsn == "5.1.1" && b.attempts == 1 && b.log.count == 1)
        #expect(m.recipients.first { $0.recipient == "c@y.example" }?.status == "deferred")
        let received = try #require(try db.search(SearchQuery()).messages.first { $0.queueIDs.count == 2 })
        #expect(received.recipients.map(\.status) == ["received"])

        // Exact addresses, any case; the address before alias expansion; partial ones for admins.
        q = SearchQuery()
        q.recipient = "ALICE@m.example"
        #expect(ids(try db.search(q)) == ["3333CCCC33;4444DDDD44"])
        q.recipient = "postmaster@m.example"
        #expect(ids(try db.search(q)) == ["3333CCCC33;4444DDDD44"])
        q.recipient = "@m.example"
        #expect(ids(try db.search(q)).isEmpty)
        q.partial = true
        #expect(ids(try db.search(q)) == ["3333CCCC33;4444DDDD44"])
        q = SearchQuery()
        q.sender = "x.example"
        q.partial = true
        #expect(ids(try db.search(q)).isEmpty)
        q.sender = "app@"
        #expect(ids(try db.search(q)) == ["5555EEEE55"])
        q.sender = "%"
        #expect(ids(try db.search(q)).isEmpty, "% is a character, not a wildcard")
        // Queue ids (either side of a content filter) and Message-IDs (with or without brackets).
        q = SearchQuery()
        q.queueID = "4444DDDD44"
        #expect(ids(try db.search(q)) == ["3333CCCC33;4444DDDD44"])
        q = SearchQuery()
        q.messageID = "<cron@m.example>"
        #expect(ids(try db.search(q)) == ["8888BBBB88"])
        // Time.
        q = SearchQuery()
        q.from = 1_577_880_000 // 2020-01-01 12:00
        #expect(ids(try db.search(q)) == ["8888BBBB88"])
        #expect(try db.search(q).rejections.isEmpty)
        // Pages.
        q = SearchQuery()
        q.limit = 2
        r = try db.search(q)
        #expect(ids(r).count == 2 && r.hasMore)
        q.offset = 2
        r = try db.search(q)
        #expect(ids(r) == ["3333CCCC33;4444DDDD44"])
    }

    /// The search indexes hold `lm_search_key` of the texts: stored in every workspace, it must never
    /// change. ASCII letters count as lower case (as `COLLATE NOCASE` in the searches), other bytes as they are.
    @Test func theSearchKeysAreFixed() throws {
        let db = try AppDatabase.inMemory()
        let keys = try db.reader.read { db in
            try ["", "s@ext.example", "S@Ext.EXAMPLE", "postmaster@m.example", "3333CCCC33", "Été@x.example", "été@x.example"].map {
                try Int64.fetchOne(db, sql: "SELECT lm_search_key(?)", arguments: [$0])!
            }
        }
        #expect(keys == [-2152535657050944081, 8634383749798029359, 8634383749798029359, -8614605423474475956, -4968118120370688410,
                         7807855138194945589, -6082545656781894727])
        // Every length up to three words, each one letter changed: no two keys alike.
        let texts = (0...24).flatMap { n in [String(repeating: "a", count: n), String(repeating: "a", count: max(0, n - 1)) + (n > 0 ? "b" : "")] }
        let all = try db.reader.read { db in try Set(texts.map { try Int64.fetchOne(db, sql: "SELECT lm_search_key(?)", arguments: [$0])! }) }
        #expect(all.count == Set(texts).count)
        #expect(try db.reader.read { try Int64.fetchOne($0, sql: "SELECT lm_search_key(NULL)") } == nil)
    }

    /// Exact searches go through the indexes of the keys (else each would read every row).
    @Test func exactSearchesUseTheIndexes() throws {
        let (ws, db) = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        func plan(_ query: (String, StatementArguments)) throws -> String {
            try db.reader.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + query.0, arguments: query.1).map { $0["detail"] as String }.joined(separator: " | ")
            }
        }
        var q = SearchQuery()
        q.sender = "S@ext.example"
        #expect(try plan(AppDatabase.messagesSQL(q)).contains("INDEX messages_sender"))
        #expect(try plan(AppDatabase.rejectionsSQL(q)).contains("INDEX rejections_sender"))
        #expect(ids(try db.search(q)) == ["3333CCCC33;4444DDDD44"], "any case")
        q = SearchQuery()
        q.recipient = "Postmaster@M.example"
        let p = try plan(AppDatabase.messagesSQL(q))
        #expect(p.contains("INDEX deliveries_recipient") && p.contains("INDEX deliveries_orig_recipient"), "\(p)")
        #expect(try plan(AppDatabase.rejectionsSQL(q)).contains("INDEX rejections_recipient"))
        #expect(ids(try db.search(q)) == ["3333CCCC33;4444DDDD44"])
        q = SearchQuery()
        q.messageID = "m3@ext.example"
        let pm = try plan(AppDatabase.messagesSQL(q))
        #expect(pm.contains("INDEX messages_message_id"), "\(pm)")
        #expect(ids(try db.search(q)) == ["3333CCCC33;4444DDDD44"])
        q.messageID = "M3@ext.example"
        #expect(ids(try db.search(q)).isEmpty, "a Message-ID is compared exactly")
        q = SearchQuery()
        q.queueID = "3333CCCC33"
        #expect(ids(try db.search(q)) == ["3333CCCC33;4444DDDD44"])
        q.queueID = "3333cccc33"
        #expect(ids(try db.search(q)).isEmpty, "a queue id is compared exactly")
        q = SearchQuery()
        q.sender = "<>"
        #expect(try plan(AppDatabase.messagesSQL(q)).contains("INDEX messages_sender"))
        #expect(ids(try db.search(q)).isEmpty, "the null sender's one message is a notification")
        q = SearchQuery()
        q.sender = "spam@BAD.example"
        #expect(try db.search(q).rejections.map(\.recipient) == ["x@other.example"])
    }

    /// A workspace of an earlier version (v15: indexes of the texts) gets the indexes of the keys when
    /// it is opened, and its searches find what they found.
    @Test func aWorkspaceOfTheTextIndexesGetsTheKeysIndexes() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        _ = try importText(importLog + Self.expiredLines, into: ws)
        let pool = try DatabasePool(path: ws + "/lightmeter.db")
        try pool.write { db in
            for name in AppDatabase.searchIndexes + ["messages_queue_ids_more"] { try db.execute(sql: "DROP INDEX \(name)") }
            try db.execute(sql: """
                CREATE INDEX messages_queue_id ON messages(queue_id);
                CREATE INDEX messages_message_id ON messages(message_id);
                CREATE INDEX messages_sender ON messages(sender);
                CREATE INDEX deliveries_recipient ON deliveries(recipient);
                CREATE INDEX deliveries_orig_recipient ON deliveries(orig_recipient) WHERE orig_recipient IS NOT NULL;
                CREATE INDEX rejections_sender ON rejections(sender);
                CREATE INDEX rejections_recipient ON rejections(recipient);
                DELETE FROM grdb_migrations WHERE identifier LIKE 'v16:%' OR identifier LIKE 'v17:%';
                """)
        }
        try pool.close()
        let db = try AppDatabase.open(workspace: ws)
        let definitions = try db.reader.read { db in
            try String.fetchAll(db, sql: "SELECT sql FROM sqlite_master WHERE name IN (\(AppDatabase.searchIndexes.map { "'\($0)'" }.joined(separator: ",")))")
        }
        #expect(definitions.count == 8 && definitions.allSatisfy { $0.contains("lm_search_key(") || $0.contains("lm_queue_key(queue_ids, 1)") },
                "\(definitions)")
        #expect(try db.reader.read { try $0.indexExists("messages_queue_ids_more") })
        #expect(try !db.isBulkLoading())
        var q = SearchQuery()
        q.recipient = "postmaster@m.example"
        #expect(ids(try db.search(q)) == ["3333CCCC33;4444DDDD44"])
        q = SearchQuery()
        q.messageID = "cron@m.example"
        #expect(ids(try db.search(q)) == ["8888BBBB88"])
    }

    /// A message still in the queue shows its content-filter hop, also once a later import (a new
    /// tracker, restored from the store) has changed it again.
    @Test func aLiveMessageKeepsItsContentFilterHop() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        _ = try importText("""
            Jan  1 10:00:00 m postfix/smtpd[1]: 3333CCCC33: client=ext.example[203.0.113.9]
            Jan  1 10:00:00 m postfix/qmgr[3]: 3333CCCC33: from=<s@ext.example>, size=100, nrcpt=1 (queue active)
            Jan  1 10:00:01 m postfix/smtpd[5]: 4444DDDD44: client=localhost[127.0.0.1]
            Jan  1 10:00:01 m postfix/qmgr[3]: 4444DDDD44: from=<s@ext.example>, size=200, nrcpt=1 (queue active)
            Jan  1 10:00:01 m postfix/smtp[4]: 3333CCCC33: to=<r@far.example>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4444DDDD44)
            Jan  1 10:00:01 m postfix/qmgr[3]: 3333CCCC33: removed
            Jan  1 10:00:02 m postfix/smtp[6]: 4444DDDD44: to=<r@far.example>, relay=none, delay=1, delays=0/0/0/1, dsn=4.4.1, status=deferred (connect to mx.far.example[192.0.2.9]:25: Connection refused)

            """, into: ws)
        let expected = Attempt(time: 1_577_872_801, status: "sent", dsn: "2.0.0", relay: "127.0.0.1[127.0.0.1]:10024",
                               reply: "250 2.0.0 Ok: queued as 4444DDDD44", delay: 1, agent: "smtp", hop: true)
        var q = SearchQuery()
        q.queueID = "3333CCCC33"
        var m = try #require(try AppDatabase.open(workspace: ws).search(q).messages.first)
        #expect(m.queueIDs == ["3333CCCC33", "4444DDDD44"] && !m.complete)
        #expect(m.hops == [expected])
        _ = try importText("""
            Jan  1 11:00:02 m postfix/smtp[6]: 4444DDDD44: to=<r@far.example>, relay=none, delay=3601, delays=0/0/0/1, dsn=4.4.1, status=deferred (connect to mx.far.example[192.0.2.9]:25: Connection refused)

            """, into: ws)
        m = try #require(try AppDatabase.open(workspace: ws).search(q).messages.first)
        #expect(m.recipients.first?.attempts == 2 && !m.complete)
        #expect(m.hops == [expected])
    }

    /// A message through two content filters has three queue ids: a search by any of them finds it,
    /// each through an index (the first id's, the second's, the short list of messages of three).
    @Test func everyQueueIdOfAMessageIsFoundThroughAnIndex() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        _ = try importText(importLog + """
            Jan  1 09:00:00 m postfix/smtpd[1]: 1111AAAA11: client=ext.example[203.0.113.9]
            Jan  1 09:00:00 m postfix/qmgr[3]: 1111AAAA11: from=<d@ext.example>, size=100, nrcpt=1 (queue active)
            Jan  1 09:00:01 m postfix/smtpd[5]: 2222BBBB22: client=localhost[127.0.0.1]
            Jan  1 09:00:01 m postfix/qmgr[3]: 2222BBBB22: from=<d@ext.example>, size=200, nrcpt=1 (queue active)
            Jan  1 09:00:01 m postfix/smtp[4]: 1111AAAA11: to=<u@m.example>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 2222BBBB22)
            Jan  1 09:00:01 m postfix/qmgr[3]: 1111AAAA11: removed
            Jan  1 09:00:02 m postfix/smtpd[6]: 7777EEEE77: client=localhost[127.0.0.1]
            Jan  1 09:00:02 m postfix/qmgr[3]: 7777EEEE77: from=<d@ext.example>, size=300, nrcpt=1 (queue active)
            Jan  1 09:00:02 m postfix/smtp[4]: 2222BBBB22: to=<u@m.example>, relay=127.0.0.1[127.0.0.1]:10026, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 7777EEEE77)
            Jan  1 09:00:02 m postfix/qmgr[3]: 2222BBBB22: removed
            Jan  1 09:00:03 m postfix/local[7]: 7777EEEE77: to=<u@m.example>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
            Jan  1 09:00:03 m postfix/qmgr[3]: 7777EEEE77: removed

            """, into: ws)
        let db = try AppDatabase.open(workspace: ws)
        for (qid, expected) in [("1111AAAA11", ["1111AAAA11;2222BBBB22;7777EEEE77"]), ("2222BBBB22", ["1111AAAA11;2222BBBB22;7777EEEE77"]),
                                ("7777EEEE77", ["1111AAAA11;2222BBBB22;7777EEEE77"]), ("4444DDDD44", ["3333CCCC33;4444DDDD44"]),
                                ("3333CCCC33", ["3333CCCC33;4444DDDD44"]), ("2222BBBB2", []), ("1111AAAA11;2222BBBB22", [])] {
            var q = SearchQuery()
            q.queueID = qid
            #expect(ids(try db.search(q)) == expected, "\(qid)")
        }
        var q = SearchQuery()
        q.queueID = "2222BBBB22"
        let plan = try db.reader.read { db in
            let (sql, args) = AppDatabase.messagesSQL(q)
            return try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: args).map { $0["detail"] as String }
        }
        for index in ["messages_queue_id ", "messages_queue_id2", "messages_queue_ids_more"] {
            #expect(plan.contains { $0.contains("INDEX \(index)") }, "\(index): \(plan)")
        }
        // No scan of the messages but that of the short list of messages of three queues or more.
        #expect(!plan.contains { $0.hasPrefix("SCAN") && !$0.hasSuffix("USING INDEX messages_queue_ids_more") }, "\(plan)")
    }
}

/// A new workspace gets its schema in one transaction: the same as migration by migration.
@Suite struct SchemaTests {
    func schema(_ db: AppDatabase) throws -> [String] {
        try db.reader.read { db in
            try String.fetchAll(db, sql: "SELECT type || ' ' || name || ' ' || tbl_name || ' ' || COALESCE(sql, '') FROM sqlite_master ORDER BY name")
                + String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
                + String.fetchAll(db, sql: "SELECT key || '=' || value FROM meta ORDER BY key")
        }
    }

    @Test func aNewWorkspaceGetsTheSchemaOfEveryMigration() throws {
        var config = Configuration()
        config.prepareDatabase { db in try registerRows(db) }
        let stepwise = try DatabaseQueue(configuration: config)
        try AppDatabase.migrator.migrate(stepwise)
        let steps = try schema(try AppDatabase(stepwise))
        let atOnce = try schema(try AppDatabase.inMemory())
        #expect(steps.count > 60)
        #expect(atOnce == steps)
    }
}
