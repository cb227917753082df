import Foundation
import Hummingbird
import HummingbirdTesting
import Ingest
import Store
import Testing
import Tracking
@testable import Web

@Suite struct DetectiveTests {
    @Test func adminsSearchEverythingAndDownload() async throws {
        let (web, dir) = try await DashboardTests.seeded()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await web.test { b in
            try await b.login()
            var r = try await b.request("/detective?recipient=hotmail.com&from=2026-01-01&to=2026-01-02&tz=UTC")
            #expect(r.status == .ok)
            #expect(r.text.contains("b@hotmail.com"))
            #expect(r.text.contains("c@live.com"), "the other recipients of the message show to admins")
            #expect(r.text.contains("Returned to the sender"))
            #expect(r.text.contains("class=\"raw\""), "raw lines for admins")
            #expect(r.text.contains("5555EEEE55: to=&lt;b@hotmail.com&gt;"))
            r = try await b.request("/api/v0/search?status=bounced&tz=UTC&from=2026-01-01&to=2026-01-02")
            let result = try JSONDecoder().decode(SearchResult.self, from: Data(buffer: r.body))
            #expect(result.messages.map(\.queueIDs) == [["5555EEEE55"]])
            var q = SearchQuery()
            q.status = .bounced
            q.partial = true
            q.from = 1_767_225_600
            q.to = 1_767_225_600 + 2 * 86400
            #expect(result == (try web.db.search(q)), "the API answers what the store finds")
            r = try await b.request("/api/v0/search?sender=app@mx.example&format=csv")
            #expect(r.headers[.contentType]?.hasPrefix("text/csv") == true)
            let lines = r.text.split(separator: "\n")
            #expect(lines.count == 5) // header, 4 recipients
            #expect(lines.contains { $0.contains("b@hotmail.com") && $0.contains(",bounced,true,") })
            r = try await b.request("/api/v0/search?recipient=alice&format=jsonl")
            #expect(r.text.split(separator: "\n").count == 1 && r.text.contains("\"status\":\"received\""))
            r = try await b.request("/api/v0/search?status=nonsense")
            #expect(r.status == .badRequest)
        }
    }

    @Test func thePublicPageIsOffUnlessTurnedOnAndShowsOnlyTheMessageAsked() async throws {
        let (web, dir) = try await DashboardTests.seeded()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await web.test { b in
            var r = try await b.request("/detective?sender=app@mx.example&recipient=b@hotmail.com&from=2026-01-01&to=2026-01-03")
            #expect(r.status == .found && r.location?.hasPrefix("/login") == true)
            try web.deps.settings.update(["detective.public_page": "true"])
            r = try await b.request("/detective")
            #expect(r.status == .ok)
            #expect(r.text.contains("id=\"search-form\"") && !r.text.contains("id=\"queue_id\""))
            // Exact addresses and dates are required.
            r = try await b.request("/detective?sender=mx.example&recipient=b@hotmail.com&from=2026-01-01&to=2026-01-03")
            #expect(r.status == .badRequest)
            r = try await b.request("/detective?sender=app@mx.example&recipient=b@hotmail.com")
            #expect(r.status == .badRequest)
            r = try await b.request("/detective?sender=app@mx.example&recipient=hotmail.com&from=2026-01-01&to=2026-01-03")
            #expect(r.status == .badRequest)
            r = try await b.request("/detective?sender=app@mx.example&recipient=b@hotmail.com&from=2026-01-01&to=2026-01-03&tz=UTC")
            #expect(r.status == .ok)
            #expect(r.text.contains("b@hotmail.com"))
            #expect(r.text.contains("5.1.1"))
            #expect(r.text.contains("Returned to the sender"))
            #expect(!r.text.contains("c@live.com"), "another recipient of the same message")
            #expect(!r.text.contains("x@gmail.com"), "another message of the sender")
            #expect(!r.text.contains("class=\"raw\"") && !r.text.contains("postfix/"), "raw lines")
            #expect(!r.text.contains("10.0.0.5") && !r.text.contains("198.51.100"), "client and relay addresses")
            // A search names nothing it was not asked.
            r = try await b.request("/detective?sender=app@mx.example&recipient=nobody@hotmail.com&from=2026-01-01&to=2026-01-03")
            #expect(r.text.contains("id=\"no-results\""))
            // The API stays private.
            r = try await b.request("/api/v0/search?sender=app@mx.example")
            #expect(r.status == .unauthorized)
        }
    }

    @Test func publicSearchesAreRateLimited() async throws {
        let web = try await TestWeb()
        try web.deps.settings.update(["detective.public_page": "true"])
        try await web.test { b in
            b.extraHeaders = [.init("X-Forwarded-For")!: "203.0.113.77"]
            let q = "/detective?sender=a@example.org&recipient=b@example.org&from=2026-01-01&to=2026-01-02"
            for _ in 0..<20 { #expect(try await b.request(q).status == .ok) }
            let r = try await b.request(q)
            #expect(r.status == .tooManyRequests)
            #expect(Int(r.headers[.retryAfter] ?? "") ?? 0 > 0)
            // Opening the empty form is not a search.
            #expect(try await b.request("/detective").status == .ok)
            b.extraHeaders = [.init("X-Forwarded-For")!: "203.0.113.78"]
            #expect(try await b.request(q).status == .ok)
        }
    }
}
