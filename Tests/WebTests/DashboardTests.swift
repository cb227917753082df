import Foundation
import Hummingbird
import HummingbirdTesting
import Ingest
import Store
import Testing
import Tracking
@testable import Web

/// The dashboard API over a seeded workspace, with numbers counted by hand.
@Suite struct DashboardTests {
    /// Jan 1 2026: an inbound delivery, a rejection. Jan 2: an outbound message with a bounce (its
    /// notification returned to the sender) and a deferral, and one to gmail.com and googlemail.com.
    static let log = """
        Jan  1 10:00:00 mx postfix/smtpd[1]: 3333CCCC33: client=ext.example[203.0.113.9]
        Jan  1 10:00:00 mx postfix/qmgr[3]: 3333CCCC33: from=<s@ext.example>, size=100, nrcpt=1 (queue active)
        Jan  1 10:00:02 mx postfix/local[6]: 3333CCCC33: to=<alice@mx.example>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
        Jan  1 10:00:02 mx postfix/qmgr[3]: 3333CCCC33: removed
        Jan  1 10:01:00 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from bad.example[192.0.2.7]: 554 5.7.1 <x@other.example>: Relay access denied; from=<spam@bad.example> to=<x@other.example> proto=ESMTP helo=<bad>
        Jan  2 10:02:00 mx postfix/smtpd[1]: 5555EEEE55: client=app[10.0.0.5], sasl_method=PLAIN, sasl_username=app
        Jan  2 10:02:00 mx postfix/qmgr[3]: 5555EEEE55: from=<app@mx.example>, size=300, nrcpt=2 (queue active)
        Jan  2 10:02:01 mx postfix/smtp[4]: 5555EEEE55: to=<b@hotmail.com>, relay=mx.hotmail.com[198.51.100.2]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host said: 550 5.1.1 unknown (in reply to RCPT TO command))
        Jan  2 10:02:02 mx postfix/smtp[5]: 5555EEEE55: to=<c@live.com>, relay=mx.live.com[198.51.100.3]:25, delay=2, delays=0/0/0/2, dsn=4.2.0, status=deferred (host said: 421 4.2.0 later)
        Jan  2 10:02:02 mx postfix/cleanup[2]: 6666FFFF66: message-id=<20260102100202.6666FFFF66@mx.example>
        Jan  2 10:02:02 mx postfix/qmgr[3]: 6666FFFF66: from=<>, size=2000, nrcpt=1 (queue active)
        Jan  2 10:02:02 mx postfix/bounce[7]: 5555EEEE55: sender non-delivery notification: 6666FFFF66
        Jan  2 10:02:03 mx postfix/local[6]: 6666FFFF66: to=<app@mx.example>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
        Jan  2 10:02:03 mx postfix/qmgr[3]: 6666FFFF66: removed
        Jan  2 11:00:00 mx postfix/smtpd[1]: 7777AAAA77: client=app[10.0.0.5]
        Jan  2 11:00:00 mx postfix/qmgr[3]: 7777AAAA77: from=<app@mx.example>, size=300, nrcpt=2 (queue active)
        Jan  2 11:00:01 mx postfix/smtp[4]: 7777AAAA77: to=<x@gmail.com>, relay=gmail-smtp-in.l.google.com[192.0.2.20]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
        Jan  2 11:00:01 mx postfix/smtp[4]: 7777AAAA77: to=<y@googlemail.com>, relay=gmail-smtp-in.l.google.com[192.0.2.20]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
        Jan  2 11:00:01 mx postfix/qmgr[3]: 7777AAAA77: removed

        """

    static func seeded() async throws -> (TestWeb, String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lm-dash-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try log.write(toFile: dir + "/mail.log", atomically: true, encoding: .utf8)
        let db = try AppDatabase.open(workspace: dir + "/ws")
        let importer = try Importer(db: db, format: .default, startingYear: 2026, domains: DomainMapping())
        _ = try importer.importStream(path: dir + "/mail.log", source: "test")
        let web = try await TestWeb(db: db)
        try await web.admin()
        return (web, dir)
    }

    func object(_ r: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any], "\(r.text)")
    }

    func list(_ r: TestResponse) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [[String: Any]], "\(r.text)")
    }

    @Test func countsTopDomainsAndSeries() async throws {
        let (web, dir) = try await Self.seeded()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await web.test { b in
            try await b.login()
            let both = "from=2026-01-01&to=2026-01-02&tz=UTC"
            var r = try await b.request("/api/v0/countByStatus?" + both)
            #expect(r.status == .ok)
            #expect(try object(r) as? [String: Int] == ["sent": 3, "bounced": 1, "deferred": 1, "expired": 0, "rejected": 1, "returned": 1])
            r = try await b.request("/api/v0/countByStatus?from=2026-01-01&to=2026-01-01&tz=UTC")
            #expect(try object(r) as? [String: Int] == ["sent": 1, "bounced": 0, "deferred": 0, "expired": 0, "rejected": 1, "returned": 0])
            // New York's January 1 ends at 05:00 UTC on January 2: the same two events.
            r = try await b.request("/api/v0/countByStatus?from=2026-01-01&to=2026-01-01&tz=America/New_York")
            #expect(try object(r)["sent"] as? Int == 1)
            // Tokyo's January 2 is 15:00 UTC January 1 to 15:00 UTC January 2: everything but the first day's.
            r = try await b.request("/api/v0/countByStatus?from=2026-01-02&to=2026-01-02&tz=Asia/Tokyo")
            #expect(try object(r)["sent"] as? Int == 2 && (try object(r)["bounced"] as? Int) == 1)
            r = try await b.request("/api/v0/deliveryStatus?" + both)
            #expect(try list(r).map { $0["status"] as! String } == ["sent", "bounced", "deferred", "expired", "rejected", "returned"])
            #expect(try list(r).map { $0["value"] as! Int } == [3, 1, 1, 0, 1, 1])
            r = try await b.request("/api/v0/topBusiestDomains?" + both)
            #expect(try list(r).map { $0["domain"] as! String } == ["gmail.com", "outlook.com"])
            #expect(try list(r).map { $0["value"] as! Int } == [2, 2])
            r = try await b.request("/api/v0/topBouncedDomains?" + both)
            #expect(try list(r).map { $0["domain"] as! String } == ["outlook.com"])
            r = try await b.request("/api/v0/topDeferredDomains?" + both)
            #expect(try list(r).map { $0["value"] as! Int } == [1])
            r = try await b.request("/api/v0/deliveriesOverTime?granularity=day&" + both)
            var s = try object(r)
            #expect(s["labels"] as? [String] == ["2026-01-01", "2026-01-02"])
            let series = Dictionary(uniqueKeysWithValues: (s["series"] as! [[String: Any]]).map {
                ("\($0["direction"]!)/\($0["status"]!)", $0["values"] as! [Int])
            })
            #expect(series == ["outbound/sent": [0, 2], "outbound/bounced": [0, 1], "outbound/deferred": [0, 1], "outbound/returned": [0, 1],
                               "inbound/sent": [1, 0], "inbound/rejected": [1, 0]])
            r = try await b.request("/api/v0/deliveriesOverTime?" + both)
            s = try object(r)
            #expect(s["granularity"] as? String == "hour")
            #expect((s["labels"] as? [String])?.count == 48)
            #expect((s["labels"] as? [String])?[10] == "2026-01-01 10:00")
            r = try await b.request("/api/v0/countByStatus?from=2026-02-30")
            #expect(r.status == .badRequest)
            r = try await b.request("/api/v0/countByStatus?from=2026-01-03&to=2026-01-01")
            #expect(r.status == .badRequest)
            r = try await b.request("/api/v0/countByStatus?tz=Mars/Olympus")
            #expect(r.status == .badRequest)
            r = try await b.request("/api/v0/importProgress")
            #expect(try object(r)["active"] as? Bool == false)
            // The page: cards, top lists and the numbers' table, without any script.
            r = try await b.request("/?" + both)
            #expect(r.status == .ok)
            #expect(r.text.contains("id=\"card-sent\""))
            #expect(r.text.contains(">gmail.com</a></td>"), "\(r.text)")
            // A status or a domain opens the detective on the same period.
            #expect(r.text.contains("href=\"/detective?status=bounced&amp;from=2026-01-01&amp;to=2026-01-02&amp;tz="))
            #expect(r.text.contains("href=\"/detective?recipient=%40outlook.com&amp;status=bounced&amp;from=2026-01-01"))
            #expect(r.text.contains("<tr><th scope=\"row\">2026-01-02 11:00</th><td>2</td>"))
        }
    }

    @Test func theOpenAPIDocumentDescribesEveryRoute() async throws {
        let web = try await TestWeb()
        try await web.admin()
        let registered = Set(web.router.routes.filter { $0.path.description.hasPrefix("/api/v0/") || $0.path.description == "/healthz" }
            .map { "\($0.method) \($0.path)" })
        let documented = Set(APIDoc.endpoints.map { "\($0.method) \($0.path)" })
        #expect(registered == documented, "undocumented: \(registered.subtracting(documented)); gone: \(documented.subtracting(registered))")
        try await web.test { b in
            try await b.login()
            var r = try await b.request("/api/openapi.json")
            #expect(r.status == .ok)
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any])
            #expect(doc["openapi"] as? String == "3.0.3")
            let paths = try #require(doc["paths"] as? [String: [String: Any]])
            var fromDoc = Set<String>()
            for (path, ops) in paths { for m in ops.keys { fromDoc.insert("\(m.uppercased()) \(path)") } }
            #expect(fromDoc == registered)
            r = try await b.request("/api")
            #expect(r.status == .ok)
            for e in APIDoc.endpoints { #expect(r.text.contains("<code>\(e.method) \(e.path)</code>")) }
        }
    }

    @Test func withoutChartJSTheNumbersStillShow() async throws {
        let (web, dir) = try await Self.seeded()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let bare = try await TestWeb(db: web.db, assetsDir: dir + "/nothing")
        try await bare.test { b in
            _ = try await b.login()
            let r = try await b.request("/?from=2026-01-01&to=2026-01-02&tz=UTC")
            #expect(r.text.contains("id=\"no-charts\""))
            #expect(r.text.contains("apt install libjs-chart.js"))
            #expect(!r.text.contains("vendor/chart.js"))
            #expect(try await b.request("/vendor/chart.js").status == .notFound)
        }
    }
}
