import Foundation
import Hummingbird
import HummingbirdTesting
import Store
import Testing
@testable import Web

@Suite struct EscalationTests {
    @Test func aBouncedMessageIsEscalatedOnceAndListedAsAnInsight() async throws {
        let (web, dir) = try await DashboardTests.seeded()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try web.deps.settings.update(["detective.public_page": "true"])
        try await web.test { b in
            let search = "/detective?sender=app@mx.example&recipient=b@hotmail.com&from=2026-01-01&to=2026-01-03&tz=UTC"
            var r = try await b.request(search)
            #expect(r.text.contains("Ask the postmaster to look into it"))
            let id = try #require(r.text.range(of: "name=\"message\" value=\"").map { String(r.text[$0.upperBound...].prefix { $0 != "\"" }) })
            let form = ["sender": "app@mx.example", "recipient": "b@hotmail.com", "from": "2026-01-01", "to": "2026-01-03", "tz": "UTC", "message": id]
            r = try await b.request("/detective/escalate", .post, form: form, withCSRF: false)
            #expect(r.status == .forbidden, "no CSRF token")
            r = try await b.request("/detective/escalate", .post, form: form)
            #expect(r.status == .ok)
            #expect(r.text.contains("The postmaster has been told"))
            r = try await b.request("/detective/escalate", .post, form: form)
            #expect(r.text.contains("escalated already"))
            var all = InsightFilter()
            all.active = nil
            let insights = try web.db.insights(all)
            #expect(insights.count == 1)
            let i = try #require(insights.first)
            #expect(i.kind == "detective_escalation" && i.rating == "bad" && i.active)
            #expect(i.detailValues["queue_ids"] == "5555EEEE55" && i.detailValues["dsn"] == "5.1.1" && i.detailValues["attempts"] == "1")
            // Not for a message that was delivered, nor for one the form does not find.
            r = try await b.request("/detective?sender=app@mx.example&recipient=x@gmail.com&from=2026-01-01&to=2026-01-03&tz=UTC")
            #expect(!r.text.contains("Ask the postmaster"))
            let sentID = try #require(r.text.range(of: "id=\"message-").map { String(r.text[$0.upperBound...].prefix { $0 != "\"" }) })
            r = try await b.request("/detective/escalate", .post, form: ["sender": "app@mx.example", "recipient": "x@gmail.com", "from": "2026-01-01",
                                                                         "to": "2026-01-03", "tz": "UTC", "message": sentID])
            #expect(r.status == .badRequest)
            r = try await b.request("/detective/escalate", .post, form: form.merging(["recipient": "c@live.com"]) { $1 })
            #expect(r.status == .badRequest)
            #expect(try web.db.insights(all).count == 1)

            // The administrator sees it on the dashboard and the Insights page, archives and rates it.
            try await b.login()
            r = try await b.request("/")
            #expect(r.text.contains("id=\"dashboard-insights\"") && r.text.contains("asks why a message to b@hotmail.com"))
            r = try await b.request("/insights")
            #expect(r.text.contains("id=\"insight-\(i.id!)\"") && r.text.contains("/detective?queue_id=5555EEEE55"))
            r = try await b.request("/insights?kind=high_bounce_rate")
            #expect(r.text.contains("id=\"no-insights\""))
            r = try await b.request("/insights?kind=detective_escalation")
            #expect(r.text.contains("id=\"insight-\(i.id!)\""))
            r = try await b.request("/api/v0/insights")
            #expect(r.text.contains("\"kind\":\"detective_escalation\""))
            r = try await b.request("/insights/\(i.id!)/rating", .post, form: ["useful": "true"])
            #expect(r.status == .seeOther)
            #expect(try web.db.insight(id: i.id!)?.useful == true)
            r = try await b.request("/insights/\(i.id!)/archive", .post, form: [:])
            #expect(try web.db.insight(id: i.id!)?.active == false)
            r = try await b.request("/insights")
            #expect(r.text.contains("id=\"no-insights\""))
            r = try await b.request("/api/v0/insights?state=archived")
            #expect(r.text.contains("\"active\":false") && r.text.contains("\"useful\":true"))
            r = try await b.request("/api/v0/insights?state=nonsense")
            #expect(r.status == .badRequest)
        }
    }
}
