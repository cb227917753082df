import Foundation
import Guard
import Hummingbird
import L10n
import Store

/// SMTP & IMAP logins: failing addresses, the blocklist (block and unblock by hand), external lists.
struct LoginsController {
    let db: AppDatabase
    let guardian: BruteForceGuard
    let pages: Pages
    /// Where the Dovecot policy endpoint listens, when it does.
    let policyListen: String?
    let now: @Sendable () -> Int64

    func addRoutes(to router: some RouterMethods<AppRequestContext>) {
        router.get("/logins", use: page)
        router.post("/logins/block", use: blockPage)
        router.post("/logins/unblock", use: unblockPage)
        router.get("/api/v0/logins", use: apiLogins)
        router.post("/api/v0/blocklist", use: apiBlock)
        router.delete("/api/v0/blocklist", use: apiUnblock)
    }

    static let periods = [1, 7, 30]

    func days(_ q: [String: String]) -> Int {
        q["days"].flatMap(Int.init).flatMap { Self.periods.contains($0) ? $0 : nil } ?? 1
    }

    @Sendable func page(_ request: Request, context: AppRequestContext) async throws -> Response {
        let l = context.localizer
        let d = days(request.query)
        let t = now()
        let stats = try db.loginStats(from: t - Int64(d) * 86400, to: t + 1, now: t)
        var v: [String: Any] = ["navLogins": true]
        v["periods"] = Self.periods.map { n -> [String: Any] in
            ["days": n, "label": n == 1 ? l.t("Last 24 hours") : l.t("Last {{days}} days", ["days": String(n)]), "current": n == d]
        }
        v["stats"] = Self.statCards(stats, l)
        let failing = try db.topFailingIPs(from: t - Int64(d) * 86400, to: t + 1, limit: 25)
        let blocked = try db.activeBlocks(now: t)
        let blockedSet = Set(blocked.map(\.cidr))
        v["hasFailing"] = !failing.isEmpty
        v["failing"] = failing.map { f -> [String: Any] in
            ["ip": f.ip, "failures": l.number(f.failures), "successes": l.number(f.successes), "users": l.number(f.users),
             "protocols": f.protocols.replacingOccurrences(of: ",", with: ", "), "last": l.dateTime(f.lastTime), "blocked": blockedSet.contains(f.ip)]
        }
        v["hasBlocked"] = !blocked.isEmpty
        v["blocked"] = blocked.map { b -> [String: Any] in
            // Automatic blocks say why in the reader's language; manual ones show what the administrator wrote.
            ["cidr": b.cidr, "reason": b.source == "auto" ? l.t("{{failures}} failed logins", ["failures": l.number(b.failures)]) : b.reason, "source": b.source == "manual" ? l.t("by hand") : l.t("automatic"),
             "since": l.dateTime(b.createdAt), "until": b.expiresAt.map { l.dateTime($0) } ?? l.t("until unblocked")]
        }
        v["lists"] = guardian.lists.map { s -> [String: Any] in
            ["source": s.source, "entries": l.number(s.entries), "error": s.error ?? false, "time": l.dateTime(s.time)]
        }
        v["hasLists"] = !guardian.lists.isEmpty
        v["policyListen"] = policyListen ?? false
        if let e = request.query["error"] { v["error"] = e == "address" ? l.t("Enter an IP address or a CIDR network.") : e }
        return pages.render("logins", v, context: context)
    }

    static func statCards(_ s: LoginStats, _ l: Localizer) -> [[String: Any]] {
        [
            ["id": "failed", "label": l.t("Failed logins"), "value": l.number(s.failedAttempts)],
            ["id": "failing-ips", "label": l.t("Failing addresses"), "value": l.number(s.failingIPs)],
            ["id": "succeeded", "label": l.t("Successful logins"), "value": l.number(s.successfulLogins)],
            ["id": "after-failures", "label": l.t("Successes after failures"), "value": l.number(s.successesAfterFailures)],
            ["id": "blocked", "label": l.t("Blocked addresses"), "value": l.number(s.blockedIPs)],
        ]
    }

    func requireAdmin(_ context: AppRequestContext) throws {
        guard try context.requireIdentity().isAdmin else { throw HTTPError(.forbidden, message: "only an administrator can change the blocklist") }
    }

    @Sendable func blockPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        try requireAdmin(context)
        var request = request
        let form = try await request.form(context)
        let hours = form["hours"].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        do {
            let b = try guardian.blockManually(form["address"] ?? "", hours: hours.map { max(1, $0) }, reason: String((form["reason"] ?? "").prefix(200)))
            context.logger.notice("blocked by hand", metadata: ["address": .string(b.cidr)])
        } catch is GuardError {
            return .redirect(to: context.base + "/logins?error=address", type: .normal)
        }
        return .redirect(to: context.base + "/logins#blocked", type: .normal)
    }

    @Sendable func unblockPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        try requireAdmin(context)
        var request = request
        let form = try await request.form(context)
        try db.unblock(form["address"] ?? "")
        return .redirect(to: context.base + "/logins#blocked", type: .normal)
    }

    struct LoginsView: Encodable {
        var from: Int64
        var to: Int64
        var stats: LoginStats
        var failing: [FailingAddress]
        var blocked: [BlockedAddress]
    }

    @Sendable func apiLogins(_ request: Request, context: AppRequestContext) async throws -> Response {
        let t = now()
        let from = t - Int64(days(request.query)) * 86400
        return try json(LoginsView(from: from, to: t, stats: try db.loginStats(from: from, to: t + 1, now: t),
                                   failing: try db.topFailingIPs(from: from, to: t + 1, limit: 100), blocked: try db.activeBlocks(now: t)))
    }

    @Sendable func apiBlock(_ request: Request, context: AppRequestContext) async throws -> Response {
        try requireAdmin(context)
        struct Body: Decodable {
            var address: String
            var hours: Int?
            var reason: String?
        }
        let body = try await request.decode(as: Body.self, context: context)
        do {
            return try json(try guardian.blockManually(body.address, hours: body.hours.map { max(1, $0) }, reason: String((body.reason ?? "").prefix(200))))
        } catch let e as GuardError {
            throw HTTPError(.unprocessableContent, message: e.description)
        }
    }

    @Sendable func apiUnblock(_ request: Request, context: AppRequestContext) async throws -> Response {
        try requireAdmin(context)
        guard let address = request.query["address"], try db.unblock(address) else { throw HTTPError(.notFound) }
        return Response(status: .noContent)
    }
}
