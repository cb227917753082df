import Foundation
import Hummingbird
import L10n
import Store

/// Insights: what the administrator should know, listed with filters, archived, rated.
struct InsightsController {
    let db: AppDatabase
    let pages: Pages

    func addRoutes(to router: some RouterMethods<AppRequestContext>) {
        router.get("/insights", use: page)
        router.post("/insights/:id/archive", use: archivePage)
        router.post("/insights/:id/rating", use: ratePage)
        router.get("/api/v0/insights", use: list)
        router.post("/api/v0/insights/:id/archive", use: archive)
        router.post("/api/v0/insights/:id/rating", use: rate)
    }

    struct View: Encodable {
        var id: Int64
        var time: Int64
        var kind: String
        var category: String
        var rating: String
        var title: String
        var details: [String: String]
        var active: Bool
        var useful: Bool?
    }

    static func view(_ i: Insight) -> View {
        View(id: i.id!, time: i.time, kind: i.kind, category: i.category, rating: i.rating, title: i.title, details: i.detailValues,
             active: i.active, useful: i.useful)
    }

    func filter(_ q: [String: String]) throws -> InsightFilter {
        var f = InsightFilter()
        switch q["state"] ?? "active" {
        case "active": f.active = true
        case "archived": f.active = false
        case "all": f.active = nil
        default: throw HTTPError(.badRequest, message: "state must be active, archived or all")
        }
        f.kind = q["kind"].flatMap { $0.isEmpty ? nil : $0 }
        f.category = q["category"].flatMap { $0.isEmpty ? nil : $0 }
        if q["from"] != nil || q["to"] != nil {
            var pq = q
            if pq["from"] == nil { pq["from"] = "1970-01-01" }
            let p = try Period.parse(pq)
            f.from = p.from
            f.to = p.to
        }
        return f
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        try json(try db.insights(try filter(request.query)).map(Self.view))
    }

    @Sendable func archive(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("id", as: Int64.self)
        guard try db.archiveInsight(id: id) else { throw HTTPError(.notFound) }
        return try json(Self.view(try db.insight(id: id)!))
    }

    struct Rating: Decodable { var useful: Bool }

    @Sendable func rate(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("id", as: Int64.self)
        let body = try await request.decode(as: Rating.self, context: context)
        guard try db.rateInsight(id: id, useful: body.useful) else { throw HTTPError(.notFound) }
        return try json(Self.view(try db.insight(id: id)!))
    }

    @Sendable func archivePage(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("id", as: Int64.self)
        guard try db.archiveInsight(id: id) else { throw HTTPError(.notFound) }
        return .redirect(to: context.base + "/insights", type: .normal)
    }

    @Sendable func ratePage(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try context.parameters.require("id", as: Int64.self)
        var request = request
        let form = try await request.form(context)
        guard try db.rateInsight(id: id, useful: form["useful"] == "true") else { throw HTTPError(.notFound) }
        return .redirect(to: context.base + "/insights#insight-\(id)", type: .normal)
    }

    static let ratingLabels = ["bad": N_("Needs attention"), "ok": N_("Good news"), "info": N_("For information")]
    static let detailLabels = ["queue_ids": N_("Queue ID"), "message_id": N_("Message-ID"), "sender": N_("Sender"), "recipient": N_("Recipient"),
                               "status": N_("Status"), "dsn": "DSN", "reply": N_("Reply"), "attempts": N_("Attempts"), "first_seen": N_("First seen"),
                               "last_attempt": N_("Last attempt"), "provider": N_("Provider"), "host": N_("Host"), "deliveries": N_("Deliveries"),
                               "recipient_domain": N_("Recipient domain"), "first": N_("First"), "last": N_("Last"), "bounced": N_("Bounced"),
                               "outbound": N_("Outbound deliveries"), "rate_percent": N_("Rate (%)"), "threshold_percent": N_("Threshold (%)"),
                               "from": N_("From"), "to": N_("To"), "hours": N_("Hours"), "since": N_("Since"), "deferred": N_("Deferred"),
                               "oldest_hours": N_("Oldest (hours)"), "oldest": N_("Oldest"), "insights": N_("Insights"), "rejected": N_("Rejected"),
                               "sender_domain": N_("Sender domain")]
    static let kindLabels = ["detective_escalation": N_("Escalations from the detective"), "high_bounce_rate": N_("High bounce rate"),
                             "mail_inactivity": N_("Mail inactivity"), "deferred_piling": N_("Deferred mail piling up"),
                             "blocked_by_remote": N_("Blocked by a remote host"), "import_summary": N_("Import summaries")]
    static let timeDetails: Set<String> = ["first_seen", "last_attempt", "first", "last", "from", "to", "since", "oldest"]

    /// Titles by kind, in the reader's language, from the insight's details.
    static let titles = [
        "detective_escalation": N_("{{sender}} asks why a message to {{recipient}} was not delivered"),
        "high_bounce_rate": N_("High bounce rate: {{rate_percent}}% of outbound mail bounced in the last hours"),
        "high_bounce_rate_domain": N_("High bounce rate: {{rate_percent}}% of outbound mail from {{sender_domain}} bounced in the last hours"),
        "mail_inactivity": N_("No mail sent or received in the last {{hours}} hours"),
        "deferred_piling": N_("{{deferred}} deferred recipients are waiting in the queue, the oldest for {{oldest_hours}} hours"),
        "blocked_by_remote": N_("{{provider}} is blocking mail from this server ({{host}})"),
        "import_summary": N_("Logs imported: {{insights}} insights found in them"),
    ]

    /// Insights as the templates show them (the dashboard shows the latest few).
    static func rows(_ list: [Insight], _ l: Localizer, base: String) -> [[String: Any]] {
        list.map { i -> [String: Any] in
            let d = i.detailValues
            var details: [[String: Any]] = []
            for (k, v) in d.sorted(by: { $0.key < $1.key }) where !v.isEmpty {
                let value = timeDetails.contains(k) ? Int64(v).map { l.dateTime($0) } ?? v : v
                details.append(["label": l.t(detailLabels[k] ?? k), "value": value])
            }
            var link: String = ""
            if let q = d["queue_ids"]?.split(separator: " ").first {
                link = base + "/detective?queue_id=" + (String(q).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
            }
            let titleKey = i.kind == "high_bounce_rate" && d["sender_domain"] != nil ? "high_bounce_rate_domain" : i.kind
            let title = titles[titleKey].map { l.t($0, d) } ?? i.title
            return ["id": i.id!, "time": l.dateTime(i.time), "title": title, "rating": i.rating,
                    "ratingLabel": l.t(ratingLabels[i.rating] ?? i.rating), "active": i.active, "details": details,
                    "detectiveLink": link.isEmpty ? false : link, "useful": i.useful == true, "notUseful": i.useful == false]
        }
    }

    @Sendable func page(_ request: Request, context: AppRequestContext) async throws -> Response {
        let q = request.query
        let f: InsightFilter
        do { f = try filter(q) } catch { f = try filter([:]) }
        let l = context.localizer
        let state = q["state"] ?? "active"
        let list = try db.insights(f)
        return pages.render("insights", [
            "navInsights": true, "insights": Self.rows(list, l, base: context.base), "hasInsights": !list.isEmpty, "state": state,
            "kinds": [["value": "", "label": l.t("Every kind"), "selected": f.kind == nil]] + Self.kindLabels.sorted { $0.key < $1.key }.map {
                ["value": $0.key, "label": l.t($0.value), "selected": f.kind == $0.key]
            },
            "states": [("active", N_("Active")), ("archived", N_("Archived")), ("all", N_("All"))].map {
                ["value": $0.0, "label": l.t($0.1), "current": state == $0.0]
            },
        ], context: context)
    }
}
