import Foundation
import Ingest
import Store
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
}
