import Foundation
import GRDB
import PostfixLog
@testable import Store
import Testing
import Tracking

/// The import writes each batch's rows with one `INSERT ... SELECT ... FROM lm_rows(?)` per table,
/// without the foreign keys' checks.
@Suite struct RowBatchTests {
    /// Every kind of value comes out of `lm_rows` as it went in: integers (the extremes too), reals,
    /// NULLs, empty and non-ASCII text, text of any length; rows stay in their order.
    @Test func valuesComeOutAsTheyWentIn() throws {
        let db = try AppDatabase.inMemory()
        let texts = ["", "a", "Empfänger unbekannt ✉️", String(repeating: "long ", count: 4_000), "tab\there\u{1}"]
        try db.writer.write { db in
            try db.execute(sql: "CREATE TABLE t (n INTEGER, i INTEGER, r REAL, s TEXT, z)")
            var rows = RowBatch(columns: 5)
            for (n, s) in texts.enumerated() {
                rows.add(n)
                rows.add(n == 0 ? Int64.min : n == 1 ? Int64.max : Int64(n) * -7)
                rows.add(n == 2 ? nil : Double(n) + 0.25)
                rows.add(s)
                rows.addNull()
            }
            #expect(rows.count == texts.count)
            try rows.insert(RowBatch.insertSQL("t", ["n", "i", "r", "s", "z"]), db)
            #expect(rows.isEmpty)
            // The batch is used again, as the writer does for each batch.
            rows.add(99)
            rows.add(Int64(0))
            rows.add(Double?.none)
            rows.add(text: Array("bytes".utf8))
            rows.add(String?.none)
            try rows.insert(RowBatch.insertSQL("t", ["n", "i", "r", "s", "z"]), db)
        }
        let read = try db.reader.read { db in
            try Row.fetchAll(db, sql: "SELECT n, i, r, s, typeof(s), z FROM t ORDER BY rowid")
        }
        #expect(read.map { $0[0] as Int64 } == [0, 1, 2, 3, 4, 99])
        #expect(read.map { $0[1] as Int64 } == [Int64.min, Int64.max, -14, -21, -28, 0])
        #expect(read.map { $0[2] as Double? } == [0.25, 1.25, nil, 3.25, 4.25, nil])
        let strings = read.map { $0[3] as String }
        #expect(strings.map(\.utf8.count) == (texts + ["bytes"]).map(\.utf8.count))
        #expect(strings == texts + ["bytes"], "the text differs")
        #expect(read.allSatisfy { ($0[4] as String) == "text" && ($0[5] as DatabaseValue).isNull })
    }

    /// A row that breaks a constraint fails the statement with SQLite's message, and the batch is
    /// left empty for the next one.
    @Test func aFailingRowThrowsSQLitesError() throws {
        let db = try AppDatabase.inMemory()
        try db.writer.write { db in
            try db.execute(sql: "CREATE TABLE u (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
            var rows = RowBatch(columns: 2)
            rows.add(1)
            rows.add("one")
            rows.add(2)
            rows.add(String?.none)
            #expect {
                try rows.insert(RowBatch.insertSQL("u", ["k", "v"]), db)
            } throws: { error in
                (error as? DatabaseError)?.message?.contains("NOT NULL constraint failed: u.v") == true
            }
            #expect(rows.isEmpty)
        }
    }

    /// A content filter's re-injected queue written before the line that joins it to its original
    /// message (it was live at the end of a batch): when the two are merged, its message row and its
    /// deliveries are deleted (the foreign key's cascade did that; the import's transactions run
    /// without it), and the foreign keys are on again after the import's transaction.
    @Test func aMergedMessageLeavesNoRowsBehind() throws {
        let first = """
            Jan  1 10:00:00 m postfix/smtpd[1]: 3333CCCC33: client=ext.example[203.0.113.9]
            Jan  1 10:00:00 m postfix/qmgr[3]: 3333CCCC33: from=<s@ext.example>, size=100, nrcpt=1 (queue active)
            Jan  1 10:00:01 m postfix/smtpd[5]: 4444DDDD44: client=localhost[127.0.0.1]
            Jan  1 10:00:01 m postfix/qmgr[3]: 4444DDDD44: from=<s@ext.example>, size=200, nrcpt=1 (queue active)
            Jan  1 10:00:02 m postfix/local[6]: 4444DDDD44: to=<alice@m.example>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
            """
        let second = """
            Jan  1 10:00:02 m postfix/smtp[4]: 3333CCCC33: to=<alice@m.example>, relay=127.0.0.1[127.0.0.1]:10024, delay=2, delays=0/0/0/2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4444DDDD44)
            Jan  1 10:00:02 m postfix/qmgr[3]: 3333CCCC33: removed
            Jan  1 10:00:03 m postfix/qmgr[3]: 4444DDDD44: removed
            """
        var tracker = Tracker()
        var years = YearTracker(startingYear: 2020)
        let db = try AppDatabase.inMemory()
        feed(first, to: &tracker, years: &years)
        let out1 = tracker.drain()
        try db.save([AppDatabase.Batch(out: out1, raw: nil, checkpoints: [], nextID: tracker.nextID)], domains: DomainMapping())
        let rows1 = try db.reader.read { db in
            try Int.fetchAll(db, sql: "SELECT message_id FROM deliveries UNION ALL SELECT -id FROM messages ORDER BY 1")
        }
        #expect(rows1 == [-2, -1, 2])
        feed(second, to: &tracker, years: &years)
        let out2 = tracker.drain()
        #expect(out2.merged.map(\.id) == [2])
        try db.save([AppDatabase.Batch(out: out2, raw: nil, checkpoints: [], nextID: tracker.nextID)], domains: DomainMapping())
        let (ids, deliveries, violations, refs) = try db.reader.read { db in
            (try Int.fetchAll(db, sql: "SELECT id FROM messages"),
             try Row.fetchAll(db, sql: "SELECT message_id, recipient, status FROM deliveries")
                .map { "\($0[0] as Int64) \($0[1] as String) \($0[2] as String)" },
             try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").count,
             try Int.fetchAll(db, sql: "SELECT DISTINCT message_id FROM raw_refs"))
        }
        #expect(ids == [1])
        #expect(deliveries == ["1 alice@m.example sent"])
        #expect(violations == 0)
        #expect(refs == [1])
        let foreignKeys = try db.writer.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA foreign_keys") }
        #expect(foreignKeys == 1)
    }
}
