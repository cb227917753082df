import Foundation
import Hummingbird
import Insights
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

    /// Insights as the templates show them (the dashboard shows the latest few).
    static func rows(_ list: [Insight], _ l: Localizer, base: String) -> [[String: Any]] {
        list.map { i -> [String: Any] in
            let d = i.detailValues
            let details: [[String: Any]] = InsightText.details(i, l).map { ["label": $0.label, "value": $0.value] }
            var link: String = ""
            if let q = d["queue_ids"]?.split(separator: " ").first {
                link = base + "/detective?queue_id=" + (String(q).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
            }
            let title = InsightText.title(i, l)
            return ["id": i.id!, "time": l.dateTime(i.time), "title": title, "rating": i.rating,
                    "ratingLabel": InsightText.rating(i, l), "active": i.active, "details": details,
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
            "kinds": [["value": "", "label": l.t("Every kind"), "selected": f.kind == nil]] + InsightText.kindLabels.sorted { $0.key < $1.key }.map {
                ["value": $0.key, "label": l.t($0.value), "selected": f.kind == $0.key]
            },
            "states": [("active", N_("Active")), ("archived", N_("Archived")), ("all", N_("All"))].map {
                ["value": $0.0, "label": l.t($0.1), "current": state == $0.0]
            },
        ], context: context)
    }
}
