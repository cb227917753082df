import Foundation
import Hummingbird
import Ingest
import L10n
import Store

/// The dashboard: counts per status, deliveries over time, top domains, the import under way; as JSON
/// under /api/v0 and as the home page.
struct DashboardController {
    let db: AppDatabase
    let progress: ImportProgress
    let pages: Pages
    let chartAvailable: Bool

    func addRoutes(to router: some RouterMethods<AppRequestContext>) {
        router.get("/", use: page)
        router.get("/api/v0/countByStatus", use: countByStatus)
        router.get("/api/v0/deliveryStatus", use: deliveryStatus)
        router.get("/api/v0/topBusiestDomains") { r, c in try topDomains(r, c, status: nil) }
        router.get("/api/v0/topBouncedDomains") { r, c in try topDomains(r, c, status: "bounced") }
        router.get("/api/v0/topDeferredDomains") { r, c in try topDomains(r, c, status: "deferred") }
        router.get("/api/v0/deliveriesOverTime", use: deliveriesOverTime)
        router.get("/api/v0/importProgress", use: importProgress)
    }

    // MARK: API

    @Sendable func countByStatus(_ request: Request, context: AppRequestContext) async throws -> Response {
        let p = try Period.parse(request.query)
        return try json(try db.statusCounts(from: p.from, to: p.to))
    }

    struct StatusValue: Encodable { var status: String; var value: Int }

    @Sendable func deliveryStatus(_ request: Request, context: AppRequestContext) async throws -> Response {
        let p = try Period.parse(request.query)
        let c = try db.statusCounts(from: p.from, to: p.to)
        return try json(AppDatabase.dashboardStatuses.map { StatusValue(status: $0, value: c[$0] ?? 0) })
    }

    struct DomainValue: Encodable { var domain: String; var value: Int }

    func topDomains(_ request: Request, _ context: AppRequestContext, status: String?) throws -> Response {
        let p = try Period.parse(request.query)
        return try json(try db.topDomains(from: p.from, to: p.to, status: status).map { DomainValue(domain: $0.domain, value: $0.count) })
    }

    struct Series: Encodable, Sendable {
        var granularity: String
        var timezone: String
        /// Start of each interval, Unix time.
        var times: [Int64]
        /// Each interval in the time zone: "2026-11-25" or "2026-11-25 14:00".
        var labels: [String]
        var series: [Line]
        struct Line: Encodable, Sendable { var direction: String; var status: String; var values: [Int] }
    }

    static let seriesStatuses = ["sent", "bounced", "deferred", "expired", "rejected", "returned"]
    static let directions = ["outbound", "inbound", "local"]

    func series(_ p: Period, granularity requested: String) throws -> Series {
        let granularity = requested == "auto" ? (p.days <= 3 ? "hour" : "day") : requested
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = p.timeZone
        let f = dayFormatter(p.timeZone, granularity == "hour" ? "yyyy-MM-dd HH:mm" : "yyyy-MM-dd")
        var times: [Int64] = []
        var t = Date(timeIntervalSince1970: TimeInterval(p.from))
        let end = Date(timeIntervalSince1970: TimeInterval(p.to))
        while t < end {
            times.append(Int64(t.timeIntervalSince1970))
            t = granularity == "hour" ? t.addingTimeInterval(3600) : cal.date(byAdding: .day, value: 1, to: t)!
        }
        let offset = Int64(p.timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(p.from))))
        var values: [String: [Int]] = [:]
        // The hours come in order: each goes to the interval it starts in (the intervals' starts are
        // the local days' or hours', DST included), found by walking forward, not by calendar sums.
        let boundaries = times + [p.to]
        if granularity == "day" && times.count > 0 && boundaries.allSatisfy({ $0 % 900 == 0 }) {
            // Days: a row set per UTC day and the hours between each local midnight and UTC's.
            for (i, counts) in try db.intervalCounts(boundaries: boundaries).enumerated() {
                for (key, n) in counts { values[key, default: [Int](repeating: 0, count: times.count)][i] += n }
            }
        } else {
            var i = 0
            for h in try db.hourlyCounts(from: p.from, to: p.to, offset: offset) {
                while i + 1 < times.count && h.hour >= times[i + 1] { i += 1 }
                guard !times.isEmpty, h.hour >= times[i], h.hour < p.to else { continue }
                values[h.direction + "/" + h.status, default: [Int](repeating: 0, count: times.count)][i] += h.count
            }
        }
        var lines: [Series.Line] = []
        for d in Self.directions {
            for s in Self.seriesStatuses {
                if let v = values[d + "/" + s], v.contains(where: { $0 != 0 }) { lines.append(.init(direction: d, status: s, values: v)) }
            }
        }
        return Series(granularity: granularity, timezone: p.timeZone.identifier, times: times,
                      labels: times.map { f.string(from: Date(timeIntervalSince1970: TimeInterval($0))) }, series: lines)
    }

    @Sendable func deliveriesOverTime(_ request: Request, context: AppRequestContext) async throws -> Response {
        let p = try Period.parse(request.query)
        let g = request.query["granularity"] ?? "auto"
        guard ["auto", "hour", "day"].contains(g) else { throw HTTPError(.badRequest, message: "granularity must be auto, hour or day") }
        if g == "hour" && p.days > 31 { throw HTTPError(.badRequest, message: "hourly series cover at most 31 days") }
        return try json(try series(p, granularity: g))
    }

    struct Progress: Encodable {
        var value: Int
        var active: Bool
        var time: String
        var filesDone: Int
        var filesTotal: Int
        var lines: Int64
    }

    func progressView() -> Progress {
        let s = progress.snapshot
        let active = s.bytesTotal > 0 && s.bytesRead < s.bytesTotal
        let f = ISO8601DateFormatter()
        return Progress(value: Int(((s.fraction ?? (s.lines > 0 ? 1 : 0)) * 100).rounded(.down)), active: active,
                        time: f.string(from: Date()), filesDone: s.filesDone, filesTotal: s.filesTotal, lines: s.lines)
    }

    @Sendable func importProgress(_ request: Request, context: AppRequestContext) async throws -> Response {
        try json(progressView())
    }

    // MARK: page

    @Sendable func page(_ request: Request, context: AppRequestContext) async throws -> Response {
        let l = context.localizer
        let p: Period
        do {
            p = try Period.parse(request.query)
        } catch {
            p = try Period.parse(nil)
        }
        let counts = try db.statusCounts(from: p.from, to: p.to)
        var values: [String: Any] = ["navHome": true]
        values["fromDay"] = p.fromDay
        values["toDay"] = p.toDay
        values["timezone"] = p.timeZone.identifier
        values["periodQuery"] = p.query
        values["cards"] = AppDatabase.dashboardStatuses.map { s -> [String: Any] in
            ["status": s, "label": l.t(Self.statusLabels[s]!), "value": counts[s] ?? 0, "display": l.number(counts[s] ?? 0)]
        }
        let total = AppDatabase.dashboardStatuses.filter { $0 != "returned" }.reduce(0) { $0 + (counts[$1] ?? 0) }
        values["empty"] = total == 0
        values["presets"] = presets(p, l)
        func domains(_ status: String?) throws -> [[String: Any]] {
            let rows = try db.topDomains(from: p.from, to: p.to, status: status)
            let top = rows.first?.count ?? 1
            return rows.map { ["domain": $0.domain, "value": $0.count, "display": l.number($0.count),
                               "percent": max(1, Int((Double($0.count) / Double(max(top, 1)) * 100).rounded()))] }
        }
        values["topLists"] = [
            ["id": "busiest", "title": l.t("Busiest domains"), "rows": try domains(nil), "status": false],
            ["id": "bounced", "title": l.t("Most bounced domains"), "rows": try domains("bounced"), "status": "bounced"],
            ["id": "deferred", "title": l.t("Most deferred domains"), "rows": try domains("deferred"), "status": "deferred"],
        ].map { list -> [String: Any] in var l2 = list; l2["hasRows"] = !((list["rows"] as? [[String: Any]])?.isEmpty ?? true); return l2 }
        let s = try series(p, granularity: "auto")
        values["seriesRows"] = s.labels.enumerated().map { i, label -> [String: Any] in
            var cells: [[String: Any]] = []
            for status in Self.seriesStatuses {
                cells.append(["value": l.number(s.series.filter { $0.status == status }.reduce(0) { $0 + $1.values[i] })])
            }
            return ["label": label, "cells": cells]
        }
        values["seriesHeads"] = Self.seriesStatuses.map { ["label": l.t(Self.statusLabels[$0]!)] }
        values["chartAvailable"] = chartAvailable
        let t = Int64(Date().timeIntervalSince1970)
        values["logins"] = LoginsController.statCards(try db.loginStats(from: t - 86400, to: t + 1, now: t), l)
        var active = InsightFilter()
        active.active = true
        active.limit = 5
        let insights = try db.insights(active)
        values["hasInsights"] = !insights.isEmpty
        values["insights"] = InsightsController.rows(insights, l, base: context.base)
        let prog = progressView()
        if prog.active {
            values["importing"] = l.t("Importing logs: {{percent}} done, {{lines}} lines so far. The numbers grow as the import goes on.",
                                      ["percent": "\(prog.value)%", "lines": l.number(Int(prog.lines))])
        }
        let rows = try db.latestDeliveries(limit: 20)
        values["hasRows"] = !rows.isEmpty
        values["rows"] = rows.map { r -> [String: Any] in
            ["time": l.dateTime(r.firstSeen, timeZone: p.timeZone), "sender": r.sender.map { $0.isEmpty ? "<>" : $0 } ?? "",
             "recipient": r.recipient ?? "", "status": l.t(Self.statusLabels[r.status] ?? r.status), "statusClass": r.status, "queueID": r.queueID]
        }
        return pages.render("dashboard", values, context: context)
    }

    static let statusLabels = ["sent": N_("Sent"), "bounced": N_("Bounced"), "deferred": N_("Deferred"), "expired": N_("Expired"),
                               "rejected": N_("Rejected"), "returned": N_("Returned to sender"), "received": N_("Received")]

    func presets(_ p: Period, _ l: Localizer) -> [[String: Any]] {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = p.timeZone
        let f = dayFormatter(p.timeZone)
        let today = f.string(from: Date())
        func ago(_ n: Int) -> String { f.string(from: cal.date(byAdding: .day, value: -n, to: Date())!) }
        return [(N_("Today"), today, today), (N_("Last 7 days"), ago(6), today), (N_("Last 30 days"), ago(29), today), (N_("Last 90 days"), ago(89), today)].map {
            ["label": l.t($0.0), "from": $0.1, "to": $0.2, "current": p.fromDay == $0.1 && p.toDay == $0.2]
        }
    }
}
