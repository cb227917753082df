import Foundation
import Ingest
import PostfixLog
@testable import Store
import Testing
import Tracking
import GRDB

/// A small but complete log: a filter hop, a bounce with its notification, a deferral still pending
/// at the end, a rejection.
let importLog = """
    Jan  1 10:00:00 m postfix/smtpd[1]: 3333CCCC33: client=ext.example[203.0.113.9]
    Jan  1 10:00:00 m postfix/cleanup[2]: 3333CCCC33: message-id=<m3@ext.example>
    Jan  1 10:00:00 m postfix/qmgr[3]: 3333CCCC33: from=<s@ext.example>, size=100, nrcpt=1 (queue active)
    Jan  1 10:00:01 m postfix/smtpd[5]: 4444DDDD44: client=localhost[127.0.0.1]
    Jan  1 10:00:01 m postfix/cleanup[2]: 4444DDDD44: message-id=<m3@ext.example>
    Jan  1 10:00:01 m postfix/qmgr[3]: 4444DDDD44: from=<s@ext.example>, size=200, nrcpt=1 (queue active)
    Jan  1 10:00:01 m postfix/smtp[4]: 3333CCCC33: to=<postmaster@m.example>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4444DDDD44)
    Jan  1 10:00:01 m postfix/qmgr[3]: 3333CCCC33: removed
    Jan  1 10:00:02 m postfix/local[6]: 4444DDDD44: to=<alice@m.example>, orig_to=<postmaster@m.example>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
    Jan  1 10:00:02 m postfix/qmgr[3]: 4444DDDD44: removed
    Jan  1 10:01:00 m postfix/smtpd[1]: NOQUEUE: reject: RCPT from bad.example[192.0.2.7]: 554 5.7.1 <x@m.example>: Relay access denied; from=<spam@bad.example> to=<x@other.example> proto=ESMTP helo=<bad>
    Jan  1 10:02:00 m postfix/smtpd[1]: 5555EEEE55: client=app[10.0.0.5], sasl_method=PLAIN, sasl_username=app
    Jan  1 10:02:00 m postfix/qmgr[3]: 5555EEEE55: from=<app@m.example>, size=100, nrcpt=2 (queue active)
    Jan  1 10:02:01 m postfix/smtp[4]: 5555EEEE55: to=<b@x.example>, relay=mx.x.example[198.51.100.2]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx.x.example[198.51.100.2] said: 550 5.1.1 unknown (in reply to RCPT TO command))
    Jan  1 10:02:02 m postfix/smtp[5]: 5555EEEE55: to=<c@y.example>, relay=mx.y.example[198.51.100.3]:25, delay=2, delays=0/0/0/2, dsn=4.2.0, status=deferred (host mx.y.example[198.51.100.3] said: 421 4.2.0 later)
    Jan  1 10:02:02 m postfix/cleanup[2]: 6666FFFF66: message-id=<20200101100202.6666FFFF66@m.example>
    Jan  1 10:02:02 m postfix/qmgr[3]: 6666FFFF66: from=<>, size=2000, nrcpt=1 (queue active)
    Jan  1 10:02:02 m postfix/bounce[7]: 5555EEEE55: sender non-delivery notification: 6666FFFF66
    Jan  1 10:02:03 m postfix/local[6]: 6666FFFF66: to=<app@m.example>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
    Jan  1 10:02:03 m postfix/qmgr[3]: 6666FFFF66: removed

    """

func exportLines(_ db: AppDatabase) throws -> [String] {
    var rows: [String] = []
    try db.exportRows(from: nil, to: nil) { r in
        rows.append("\(r.queueIDs.joined(separator: ";")) \(r.messageID ?? "-") \(r.sender ?? "-") \(r.recipient ?? "-") \(r.origRecipient ?? "-") \(r.status) \(r.returned) \(r.attempts) \(r.direction ?? "-") \(r.firstSeen) \(r.lastSeen) \(r.reason ?? "")")
    }
    return rows
}

func importText(_ text: String, into workspace: String, year: Int = 2020) throws -> ImportSummary {
    let path = workspace + "/input-\(UUID().uuidString).log"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let db = try AppDatabase.open(workspace: workspace)
    let importer = try Importer(db: db, format: .default, startingYear: year, domains: DomainMapping())
    return try importer.importStream(path: path, source: "stdin")
}

@Suite struct ImporterTests {
    @Test func importsAndExports() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let s = try importText(importLog, into: ws)
        #expect(s.lines == 20 && s.rejections == 1 && s.postfixUnsupported == 0)
        let rows = try exportLines(try AppDatabase.open(workspace: ws))
        #expect(rows.count == 4)
        #expect(rows.contains { $0.hasPrefix("3333CCCC33;4444DDDD44 m3@ext.example s@ext.example alice@m.example postmaster@m.example sent false 1 inbound") })
        #expect(rows.contains { $0.hasPrefix("5555EEEE55 - app@m.example b@x.example - bounced true 1 outbound") })
        #expect(rows.contains { $0.hasPrefix("5555EEEE55 - app@m.example c@y.example - deferred false 1 outbound") })
        #expect(rows.contains { $0.hasPrefix(" - spam@bad.example x@other.example - rejected false 0 -") })
        // A workspace lightmeter creates is private.
        let fresh = ws + "/new-workspace"
        _ = try AppDatabase.open(workspace: fresh)
        let perms = try FileManager.default.attributesOfItem(atPath: fresh)[.posixPermissions] as? NSNumber
        #expect(perms?.intValue == 0o700)
    }

    @Test func importingTheSameLogTwiceChangesNothing() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        _ = try importText(importLog, into: ws)
        let once = try exportLines(try AppDatabase.open(workspace: ws))
        let again = try importText(importLog, into: ws)
        #expect(again.skipped == again.lines)
        #expect(try exportLines(try AppDatabase.open(workspace: ws)) == once)
    }

    @Test(arguments: [1, 5, 8, 12, 16, 19])
    func anInterruptedImportResumesWithNothingLostOrCountedTwice(cut: Int) throws {
        let reference = tempDir(), ws = tempDir()
        defer {
            try? FileManager.default.removeItem(atPath: reference)
            try? FileManager.default.removeItem(atPath: ws)
        }
        _ = try importText(importLog, into: reference)
        let expected = try exportLines(try AppDatabase.open(workspace: reference))
        // The first run sees only the beginning (as if killed there), the second the whole log again.
        let lines = importLog.split(separator: "\n", omittingEmptySubsequences: false)
        _ = try importText(lines.prefix(cut).joined(separator: "\n") + "\n", into: ws)
        let second = try importText(importLog, into: ws)
        #expect(second.skipped == Int64(cut))
        #expect(try exportLines(try AppDatabase.open(workspace: ws)) == expected)
        // The lines read again are not counted twice in the checkpoint either.
        let resumed = try #require(try AppDatabase.open(workspace: ws).checkpoint("stdin"))
        let whole = try #require(try AppDatabase.open(workspace: reference).checkpoint("stdin"))
        #expect(resumed.lines == whole.lines && resumed.offset == whole.offset)
    }
}

extension ImporterTests {
    /// An import stopped while an SMTP session is open keeps the session with its checkpoint: after
    /// the restart, its message still begins with the session's first lines, and its successful login
    /// still names the user (read from a line before the stop).
    @Test(arguments: [2, 3])
    func aRestartKeepsTheOpenSessions(cut: Int) throws {
        let log = """
            Jan  1 10:00:00 m postfix/smtpd[7]: connect from a.example[192.0.2.1]
            Jan  1 10:00:00 m postfix/smtpd[7]: Anonymous TLS connection established from a.example[192.0.2.1]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)
            Jan  1 10:00:01 m postfix/smtpd[7]: 1111AAAA11: client=a.example[192.0.2.1], sasl_method=PLAIN, sasl_username=alice
            Jan  1 10:00:01 m postfix/qmgr[3]: 1111AAAA11: from=<alice@m.example>, size=10, nrcpt=1 (queue active)
            Jan  1 10:00:02 m postfix/smtp[4]: 1111AAAA11: to=<b@x.example>, relay=mx.x.example[198.51.100.2]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
            Jan  1 10:00:02 m postfix/qmgr[3]: 1111AAAA11: removed
            Jan  1 10:00:03 m postfix/smtpd[7]: disconnect from a.example[192.0.2.1] ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6

            """
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let lines = log.split(separator: "\n", omittingEmptySubsequences: false)
        _ = try importText(lines.prefix(cut).joined(separator: "\n") + "\n", into: ws)
        let second = try importText(log, into: ws)
        #expect(second.skipped == Int64(cut))
        let db = try AppDatabase.open(workspace: ws)
        let id = try #require(try db.reader.read { try Int64.fetchOne($0, sql: "SELECT id FROM messages") })
        #expect(try db.rawLines(messageID: id) == lines[0..<6].map(String.init))
        let users = try db.reader.read { try String?.fetchAll($0, sql: "SELECT user FROM auth_events WHERE success = 1") }
        #expect(users == ["alice"])
    }
}

@Suite struct RetentionTests {
    /// Deleting a large share of the messages sets the search indexes aside: the same rows and counts
    /// remain as with the indexes kept, and the indexes come back.
    @Test func aLargeDeletionLeavesWhatASmallOneLeaves() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard let log = try GeneratorPath.generate(into: dir, ["--lines", "20000", "--seed", "4", "--start", "2026-01-01T00:00:00"]) else { return }
        var results: [(rows: [String], indexes: [String], refs: Int, blocks: Int)] = []
        for bulk in [false, true] {
            let ws = dir + "/ws-\(bulk)"
            try FileManager.default.createDirectory(atPath: ws, withIntermediateDirectories: true)
            _ = try importText(try String(contentsOfFile: log, encoding: .utf8), into: ws, year: 2026)
            let db = try AppDatabase.open(workspace: ws)
            let (lo, hi) = try db.reader.read { db in
                (try Int64.fetchOne(db, sql: "SELECT MIN(first_seen) FROM messages")!, try Int64.fetchOne(db, sql: "SELECT MAX(first_seen) FROM messages")!)
            }
            let deleted = try db.deleteOlderThan((lo + hi) / 2, batch: 300, bulkBatch: 300, bulkFrom: bulk ? 1 : .max)
            #expect(deleted > 500)
            #expect(try !db.isBulkLoading())
            try RollupTests.expectConsistent(db)
            let indexes = try db.reader.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'index' ORDER BY name") }
            let (refs, blocks) = try db.reader.read { db in
                (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM raw_refs r WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = r.message_id)")!,
                 try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM raw_blocks b WHERE NOT EXISTS (SELECT 1 FROM raw_refs r WHERE r.block_id = b.id)")!)
            }
            results.append((try exportLines(db), indexes, refs, blocks))
        }
        #expect(results[0].rows.count > 500)
        #expect(results[0].rows == results[1].rows)
        #expect(results[0].indexes == results[1].indexes)
        #expect(results[1].indexes.contains("messages_queue_id") && results[1].indexes.contains("raw_refs_block_id"))
        #expect(results[0].refs == 0 && results[1].refs == 0)
        #expect(results[0].blocks == results[1].blocks)
    }

    @Test func oldDataIsDeletedAndRecentDataKept() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let old = """
            Jan  1 10:00:00 m postfix/pickup[1]: AAAA0000AA: uid=0 from=<root>
            Jan  1 10:00:00 m postfix/qmgr[3]: AAAA0000AA: from=<root@m.example>, size=10, nrcpt=1 (queue active)
            Jan  1 10:00:00 m postfix/local[4]: AAAA0000AA: to=<root@m.example>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox)
            Jan  1 10:00:00 m postfix/qmgr[3]: AAAA0000AA: removed
            Jan  1 10:01:00 m postfix/smtpd[1]: NOQUEUE: reject: RCPT from bad.example[192.0.2.7]: 554 5.7.1 <x@m.example>: Relay access denied; from=<spam@bad.example> to=<x@other.example> proto=ESMTP helo=<bad>
            Mar  1 10:00:00 m postfix/pickup[1]: BBBB0000BB: uid=0 from=<root>
            Mar  1 10:00:00 m postfix/qmgr[3]: BBBB0000BB: from=<root@m.example>, size=10, nrcpt=1 (queue active)
            Mar  1 10:00:00 m postfix/local[4]: BBBB0000BB: to=<root@m.example>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox)
            Mar  1 10:00:00 m postfix/qmgr[3]: BBBB0000BB: removed

            """
        _ = try importText(old, into: ws)
        let db = try AppDatabase.open(workspace: ws)
        #expect(try exportLines(db).count == 3)
        #expect(try db.applyRetention(days: 30) == 2)
        let rows = try exportLines(db)
        #expect(rows.count == 1 && rows[0].hasPrefix("BBBB0000BB"))
        let refs = try db.reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM raw_refs") }
        #expect(refs == 1)
        let id = try db.reader.read { try Int64.fetchOne($0, sql: "SELECT id FROM messages") }!
        #expect(try db.rawLines(messageID: id).count == 4)
        // Written as LZ4 blocks.
        #expect(try db.reader.read { try Int.fetchAll($0, sql: "SELECT DISTINCT codec FROM raw_blocks") } == [2])
    }
}

@Suite struct ConnectionTests {
    /// The writer has the page cache of an import's inserts; readers (the web pages, the insights'
    /// replay alongside the building of the indexes) a smaller one.
    @Test func readersHaveASmallerPageCacheThanTheWriter() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let db = try AppDatabase.open(workspace: ws)
        #expect(try db.writer.write { try Int.fetchOne($0, sql: "PRAGMA cache_size") } == -16384)
        #expect(try db.reader.read { try Int.fetchOne($0, sql: "PRAGMA cache_size") } == -4096)
    }
}

@Suite struct CheckpointerTests {
    func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
    }

    @Test func importsCopyTheWALIntoTheDatabaseOnAThreadOfTheirOwn() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let db = try AppDatabase.open(workspace: ws)
        try db.writer.write { db in
            try db.execute(sql: "CREATE TABLE filler (x BLOB)")
            for _ in 0..<4000 { try db.execute(sql: "INSERT INTO filler VALUES (randomblob(1000))") }
        }
        // About 4 MB sit in the WAL: far below the writer's own checkpoint (512 MB).
        let before = size(ws + "/lightmeter.db")
        #expect(size(ws + "/lightmeter.db-wal") > 4_000_000)
        db.wrote(bytes: 1 << 20)
        db.waitForCheckpoint()
        #expect(size(ws + "/lightmeter.db") == before, "a checkpoint only after some 32 MB of log")
        db.wrote(bytes: 40 << 20)
        db.waitForCheckpoint()
        #expect(size(ws + "/lightmeter.db") > before + 4_000_000)
        #expect(try db.reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM filler") } == 4000)
    }

    /// Closing after an import costs nothing: the WAL is neither copied nor deleted then (it is
    /// after the import, on the checkpointer's thread), and the next opening reads it.
    @Test func closingLeavesTheWALToTheNextOpening() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        do {
            let db = try AppDatabase.open(workspace: ws)
            try db.writer.write { db in
                try db.execute(sql: "CREATE TABLE filler (x BLOB)")
                for _ in 0..<1000 { try db.execute(sql: "INSERT INTO filler VALUES (randomblob(1000))") }
            }
        }
        #expect(size(ws + "/lightmeter.db-wal") > 1_000_000)
        let db = try AppDatabase.open(workspace: ws)
        #expect(try db.reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM filler") } == 1000)
        let before = size(ws + "/lightmeter.db")
        db.checkpointAfterImport()
        db.waitForCheckpoint()
        #expect(size(ws + "/lightmeter.db") > before + 1_000_000)
    }

    @Test func theDeliveriesHaveNoDomainIndex() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let db = try AppDatabase.open(workspace: ws)
        let indexes = try db.reader.read { try String.fetchAll($0, sql: "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries'") }
        #expect(!indexes.contains("deliveries_domain") && indexes.contains("deliveries_recipient"))
    }
}

@Suite struct ProgressDisplayTests {
    /// `stop` used to wait for the display thread to finish its sleep: up to a second after every
    /// import, even an empty one.
    @Test func stopDoesNotWaitForTheNextRedraw() {
        let display = ProgressDisplay(progress: ImportProgress(), isTerminal: false)
        for _ in 0..<3 {
            display.start()
            let t0 = Date()
            display.stop()
            #expect(Date().timeIntervalSince(t0) < 0.5, "the thread sleeps 1 s between redraws")
        }
        display.stop()
    }
}

@Suite struct BulkLoadTests {
    func indexes(_ db: AppDatabase) throws -> [String] {
        try db.reader.read { try String.fetchAll($0, sql: "SELECT name || ': ' || sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name") }
    }

    /// An importer into workspace `ws` with batches of 500 lines, which begins a bulk load after 1,000 when `bulk`.
    func importer(_ ws: String, bulk: Bool) throws -> Importer {
        let importer = try Importer(db: try AppDatabase.open(workspace: ws), format: .default, startingYear: 2026, domains: DomainMapping())
        importer.batchLines = 500
        importer.batchSeconds = 3600
        importer.bulkLoadLines = bulk ? 1000 : .max
        return importer
    }

    /// Imports `log` into a new workspace with batches of 500 lines.
    func importGenerated(_ log: String, bulk: Bool) throws -> (ws: String, summary: ImportSummary) {
        let ws = tempDir()
        return (ws, try importer(ws, bulk: bulk).importStream(path: log, source: "stdin"))
    }

    /// `onWritten` (the server starts the insights' replay there) comes once, when every batch is
    /// written and before the search indexes set aside are built.
    @Test func theLastBatchIsWrittenBeforeTheIndexesAreBuilt() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard let log = try GeneratorPath.generate(into: dir, ["--lines", "5000", "--seed", "4", "--start", "2026-01-01T00:00:00"]) else { return }
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let importer = try self.importer(ws, bulk: true)
        let db = importer.db
        final class Seen: @unchecked Sendable {
            var calls = 0
            var bulkLoading = false
            var rows = 0
        }
        let seen = Seen()
        importer.onWritten = {
            seen.calls += 1
            seen.bulkLoading = (try? db.isBulkLoading()) ?? false
            seen.rows = (try? exportLines(db).count) ?? -1
        }
        let summary = try importer.importStream(path: log, source: "stdin")
        #expect(summary.indexSeconds > 0)
        #expect(seen.calls == 1 && seen.bulkLoading)
        #expect(try !db.isBulkLoading())
        let rows = try exportLines(db).count
        #expect(seen.rows > 100 && seen.rows == rows)
    }

    @Test func aLargeImportSetsTheSearchIndexesAsideAndBuildsThemAtItsEnd() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard let log = try GeneratorPath.generate(into: dir, ["--lines", "20000", "--seed", "3", "--start", "2026-01-01T00:00:00"]) else { return }
        let plain = try importGenerated(log, bulk: false)
        let bulk = try importGenerated(log, bulk: true)
        defer {
            try? FileManager.default.removeItem(atPath: plain.ws)
            try? FileManager.default.removeItem(atPath: bulk.ws)
        }
        #expect(plain.summary.indexSeconds == 0)
        #expect(bulk.summary.indexSeconds > 0)
        #expect(bulk.summary.description.contains("search indexes built in"))
        let a = try AppDatabase.open(workspace: plain.ws), b = try AppDatabase.open(workspace: bulk.ws)
        #expect(try indexes(b) == indexes(a))
        #expect(try indexes(b).contains { $0.hasPrefix("deliveries_orig_recipient: ") && $0.contains("WHERE orig_recipient IS NOT NULL") })
        #expect(try !b.isBulkLoading())
        let rows = try exportLines(b)
        #expect(rows.count > 1000)
        #expect(rows == (try exportLines(a)))
        // The dashboard's counts: the larger intervals summed from the hours at the end are the same.
        for table in ["rollup_domain", "rollup_status"] {
            let sql = "SELECT * FROM \(table) WHERE n != 0 ORDER BY 1, 2, 3, 4"
            let x = try a.reader.read { try Row.fetchAll($0, sql: sql) }, y = try b.reader.read { try Row.fetchAll($0, sql: sql) }
            #expect(x.count > 20 && x == y, "\(table): \(x.count) and \(y.count) rows")
        }
        // The same log again: every line is skipped, which is no reason for a bulk load.
        let again = try Importer(db: b, format: .default, startingYear: 2026, domains: DomainMapping())
        again.batchLines = 500
        again.bulkLoadLines = 1000
        again.bulkLoadRatio = 0
        let s = try again.importStream(path: log, source: "stdin")
        #expect(s.skipped == s.lines && s.indexSeconds == 0)
        // A second log into that workspace: too few lines per stored message for a bulk load of a
        // small workspace, enough for the rule of the larger ones (lines enough, one per two messages).
        let dir2 = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir2) }
        let log2 = try GeneratorPath.generate(into: dir2, ["--lines", "20000", "--seed", "4", "--start", "2026-01-03T00:00:00"])!
        for (large, expectBulk) in [(Int64(5000), true), (Int64(50_000), false)] {
            let more = try Importer(db: b, format: .default, startingYear: 2026, domains: DomainMapping())
            more.batchLines = 500
            more.bulkLoadLines = 1000
            more.bulkLoadRatio = 1000
            more.bulkLoadLargeLines = large
            let s2 = try more.importStream(path: log2, source: "second-\(large)")
            #expect((s2.indexSeconds > 0) == expectBulk, "bulkLoadLargeLines \(large)")
        }
        // The searches use the indexes again.
        let plan = try b.reader.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT id FROM messages WHERE lm_search_key(sender) = lm_search_key('x@example.com')").map { $0["detail"] as String }
        }
        #expect(plan.joined().contains("messages_sender"))
    }

    @Test func aBulkLoadCutShortIsFinishedWhenTheWorkspaceIsNextOpened() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let before: [String]
        do {
            let db = try AppDatabase.open(workspace: ws)
            before = try indexes(db)
            // What a killed bulk load leaves: the indexes dropped, their definitions in `meta`.
            try db.save([AppDatabase.Batch(out: TrackerOutput(), raw: nil, checkpoints: [], nextID: 1, beginsBulkLoad: true)], domains: DomainMapping())
            #expect(try db.isBulkLoading())
            #expect(try indexes(db).count == before.count - AppDatabase.searchIndexes.count)
            // An hour's count written, its day's, week's and four weeks' not yet summed.
            try db.writer.write { db in
                try db.execute(sql: "INSERT INTO rollup_domain (size, bucket, domain, status, n) VALUES (3600, 491000, 'x.example', 'sent', 5)")
                try db.execute(sql: "INSERT INTO rollup_domain (size, bucket, domain, status, n) VALUES (86400, 20458, 'x.example', 'sent', 2)")
                try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('bulk_load_rollup_hours', '491000 491000')")
            }
        }
        let db = try AppDatabase.open(workspace: ws)
        #expect(try !db.isBulkLoading())
        #expect(try indexes(db) == before)
        let counts = try db.reader.read {
            try Row.fetchAll($0, sql: "SELECT size, status, n FROM rollup_domain WHERE domain = 'x.example' ORDER BY size, status").map { "\($0[0] as Int64) \($0[1] as String) \($0[2] as Int)" }
        }
        #expect(counts == ["3600 sent 5", "86400 * 5", "86400 sent 5", "604800 * 5", "604800 sent 5", "2419200 * 5", "2419200 sent 5"])
        #expect(try db.reader.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM meta WHERE key LIKE 'bulk_load%'") } == 0)
    }

    @Test func onlyFullBatchesOfAFileOrStreamBeginABulkLoad() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let db = try AppDatabase.open(workspace: ws)
        let importer = try Importer(db: db, format: .default, startingYear: 2020, domains: DomainMapping())
        importer.batchLines = 5
        importer.bulkLoadLines = 0
        importer.bulkLoadRatio = 0
        let path = ws + "/in.log"
        try importLog.write(toFile: path, atomically: true, encoding: .utf8)
        let s = try importer.importStream(path: path, source: "stdin")
        // Full batches of 5 lines: the second begins a bulk load, which the last (short) batch ends.
        #expect(s.indexSeconds > 0)
        #expect(try !db.isBulkLoading())
        let queue = LineQueue()
        for line in importLog.split(separator: "\n") { _ = queue.put(Array(line.utf8)) }
        queue.close()
        // Network sources are live: never a bulk load, however full their batches.
        let q = try importer.importQueue(queue, source: "network", stop: { false })
        #expect(q.lines == 20 && q.indexSeconds == 0)
        #expect(try !db.isBulkLoading())
    }
}

@Suite struct AttemptLogTests {
    /// The attempts' JSON is written by hand: whatever a reply holds comes back as it was.
    @Test func repliesWithQuotesBackslashesControlsAndUnicodeRoundTrip() {
        let replies = ["250 2.0.0 Ok: queued as 4F1A2B3C", "550 \"quoted\" and \\back\\slash", "tab\there\nnew\rline\u{01}\u{1F}",
                       "Zustellung fehlgeschlagen: Empfänger unbekannt ✉️", ""]
        let log = replies.enumerated().map { i, r in
            Attempt(time: Int64(1_700_000_000 + i), status: i == 0 ? "sent" : "deferred", dsn: i == 4 ? nil : "4.0.\(i)",
                    relay: "mx[192.0.2.\(i)]:25", reply: r, delay: i == 2 ? nil : Double(i) + 0.25, agent: "smtp", hop: i == 3)
        }
        #expect(AttemptLog.decode(AttemptLog.encode(log)) == log)
    }

    /// A delivery's one attempt is kept by its columns (its log is stored empty): every recipient reads
    /// back the attempts the tracker saw, in the detective, after a restart and in the report.
    @Test func oneAttemptIsKeptByTheColumnsAndEveryLogReadsBack() throws {
        let text = """
            Jan  1 10:00:00 m postfix/qmgr[3]: 1111AAAA11: from=<s@m.example>, size=10, nrcpt=3 (queue active)
            Jan  1 10:00:01 m postfix/smtp[4]: 1111AAAA11: to=<one@x.example>, relay=mx.x.example[198.51.100.2]:25, delay=1.5, delays=0/0/0/1.5, dsn=2.0.0, status=sent (250 2.0.0 Ok)
            Jan  1 10:00:01 m postfix/smtp[4]: 1111AAAA11: to=<two@y.example>, relay=mx.y.example[198.51.100.3]:25, delay=1, delays=0/0/0/1, dsn=4.2.0, status=deferred (host mx.y.example[198.51.100.3] said: 421 4.2.0 later)
            Jan  1 10:00:02 m postfix/smtp[4]: 1111AAAA11: to=<three@z.example>, relay=none, delay=2, delays=0/0/0/2, dsn=4.4.1, status=deferred (connect to mx.z.example[198.51.100.4]:25: Connection refused)
            Jan  1 10:30:01 m postfix/smtp[4]: 1111AAAA11: to=<two@y.example>, relay=mx.y.example[198.51.100.3]:25, delay=1801, delays=1800/0/0/1, dsn=2.0.0, status=sent (250 ok)

            """
        // What the tracker holds for each recipient.
        var tracker = Tracker()
        var years = YearTracker(startingYear: 2020)
        feed(text, to: &tracker, years: &years)
        let expected = tracker.drain().messages[0].recipients.map(\.log)
        #expect(expected.map(\.count) == [1, 2, 1])

        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        _ = try importText(text, into: ws)
        let db = try AppDatabase.open(workspace: ws)
        let stored = try db.reader.read { try String.fetchAll($0, sql: "SELECT log FROM deliveries ORDER BY idx") }
        #expect(stored.map(\.isEmpty) == [true, false, true])
        var q = SearchQuery()
        q.queueID = "1111AAAA11"
        #expect(try db.search(q).messages.first?.recipients.map(\.log) == expected)
        // The message is still in the queue: a restart takes its recipients back.
        #expect(try db.loadTrackerState().messages.first?.recipients.map(\.log) == expected)
        // Two deferrals, one of them a recipient's only attempt (its log stored empty).
        let report = try db.report(from: nil, to: nil)
        #expect(report.deferredAttempts == 2 && report.deferredRecipients == 2)
        #expect(Set(report.deferralReasons.map(\.dsn)) == ["4.2.0", "4.4.1"])
    }
}

@Suite struct TransactionTests {
    /// Counts the commits of the connection it is added to.
    final class Commits: TransactionObserver, @unchecked Sendable {
        var count = 0
        func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { eventKind.tableName == "checkpoints" }
        func databaseDidChange(with event: DatabaseEvent) {}
        func databaseDidCommit(_ db: Database) { count += 1 }
        func databaseDidRollback(_ db: Database) {}
    }

    /// Imports `log` with batches of 500 lines into a new workspace; returns the commits that wrote
    /// checkpoints, the export and the time taken.
    func importCounting(_ log: String, lines: Int, seconds: Double) throws -> (commits: Int, rows: [String], seconds: Double) {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let db = try AppDatabase.open(workspace: ws)
        let commits = Commits()
        try db.writer.writeWithoutTransaction { $0.add(transactionObserver: commits, extent: .databaseLifetime) }
        let importer = try Importer(db: db, format: .default, startingYear: 2026, domains: DomainMapping())
        importer.batchLines = 500
        importer.batchSeconds = 3600
        importer.transactionLines = lines
        importer.transactionSeconds = seconds
        let start = Date()
        let summary = try importer.importStream(path: log, source: "stdin")
        #expect(summary.lines == 20_000)
        return (commits.count, try exportLines(db), Date().timeIntervalSince(start))
    }

    /// Full batches are written in transactions of many: far fewer commits, the same data, and the end
    /// of the import does not wait for the transaction's time to run out.
    @Test func fullBatchesShareATransaction() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard let log = try GeneratorPath.generate(into: dir, ["--lines", "20000", "--seed", "5", "--start", "2026-01-01T00:00:00"]) else { return }
        let each = try importCounting(log, lines: 1, seconds: 30)
        let shared = try importCounting(log, lines: 10_000, seconds: 30)
        let one = try importCounting(log, lines: .max, seconds: 30)
        // No time for more batches: each transaction takes what is queued when it begins, and commits.
        let quick = try importCounting(log, lines: .max, seconds: 0)
        // 40 batches of 500 lines: one commit each (or per few written together), against 2 or 3 per
        // 10,000 lines, one or two for all of them.
        #expect(each.commits >= 10, "\(each.commits) commits")
        #expect(shared.commits >= 2 && shared.commits <= 8, "\(shared.commits) commits")
        #expect(one.commits <= 2, "\(one.commits) commits")
        #expect(quick.commits >= 10, "\(quick.commits) commits")
        #expect(one.seconds < 20, "the last batch waited for the transaction's time: \(one.seconds) s")
        #expect(each.rows.count > 1000)
        #expect(shared.rows == each.rows && one.rows == each.rows && quick.rows == each.rows)
    }
}
