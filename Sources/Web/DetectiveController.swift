import Auth
import Foundation
import Hummingbird
import L10n
import Store

/// The message detective: search any message and see every attempt. Signed-in users search by any
/// field, partial addresses included, and see the raw log lines; with the public page on, anyone can
/// check one message of theirs by its exact sender and recipient in a time range.
struct DetectiveController {
    let db: AppDatabase
    let settings: SettingsStore
    let pages: Pages
    /// Public searches: 20 per 10 minutes per client address.
    let publicLimiter: RateLimiter

    func addPublicRoutes(to router: some RouterMethods<AppRequestContext>) {
        router.get("/detective", use: page)
        router.post("/detective/escalate", use: escalate)
    }

    func addPrivateRoutes(to router: some RouterMethods<AppRequestContext>) {
        router.get("/api/v0/search", use: api)
    }

    // MARK: queries

    struct BadQuery: Error { var message: String }

    /// The query of a request; `publicPage`: exact sender and recipient and both dates required.
    func query(_ q: [String: String], publicPage: Bool, page: Int) throws -> (SearchQuery, Period?) {
        var s = SearchQuery()
        func value(_ k: String) -> String? { q[k].map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 } }
        s.sender = value("sender")
        s.recipient = value("recipient")
        s.queueID = value("queue_id")
        s.messageID = value("message_id")
        if let st = value("status") {
            guard let v = SearchStatus(rawValue: st) else { throw BadQuery(message: N_("Unknown status.")) }
            s.status = v
        }
        var period: Period?
        if value("from") != nil || value("to") != nil {
            do {
                var pq = q
                if value("from") == nil { pq["from"] = "1970-01-01" }
                period = try Period.parse(pq)
            } catch is HTTPError {
                throw BadQuery(message: N_("Enter the dates as YYYY-MM-DD."))
            }
            s.from = period!.from
            s.to = period!.to
        }
        s.offset = max(0, page - 1) * s.limit
        if publicPage {
            guard let snd = s.sender, let rcpt = s.recipient, Accounts.isValidEmail(snd), Accounts.isValidEmail(rcpt) else {
                throw BadQuery(message: N_("Enter the full sender and recipient addresses."))
            }
            guard value("from") != nil, value("to") != nil, let p = period, p.days <= 93 else {
                throw BadQuery(message: N_("Enter the dates between which the message was sent (at most three months)."))
            }
            s.queueID = nil
            s.messageID = nil
            s.status = nil
            s.limit = 20
            s.offset = 0
        } else {
            s.partial = true
        }
        return (s, period)
    }

    // MARK: API

    @Sendable func api(_ request: Request, context: AppRequestContext) async throws -> Response {
        let q = request.query
        let page = Int(q["page"] ?? "1") ?? 1
        let (sq, _): (SearchQuery, Period?)
        do {
            (sq, _) = try query(q, publicPage: false, page: page)
        } catch let e as BadQuery {
            throw HTTPError(.badRequest, message: e.message)
        }
        var query = sq
        let format = q["format"] ?? "json"
        if format != "json" { query.limit = min(Int(q["limit"] ?? "10000") ?? 10000, 100_000); query.offset = 0 }
        let result = try db.search(query)
        switch format {
        case "json":
            return try json(result)
        case "jsonl", "csv":
            var out = format == "csv" ? "queue_ids,message_id,sender,recipient,orig_recipient,status,returned,attempts,first_seen,last_attempt,dsn,relay,reason\n" : ""
            let iso = ISO8601DateFormatter()
            func t(_ v: Int64?) -> String { v.map { iso.string(from: Date(timeIntervalSince1970: TimeInterval($0))) } ?? "" }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            for m in result.messages {
                for r in m.recipients {
                    if format == "csv" {
                        out += [m.queueIDs.joined(separator: ";"), m.messageID ?? "", m.sender ?? "", r.recipient, r.origRecipient ?? "", r.status,
                                r.returned ? "true" : "false", String(r.attempts), t(m.firstSeen), t(r.lastAttempt), r.dsn ?? "", r.relay ?? "", r.reason ?? ""]
                            .map(csvField).joined(separator: ",") + "\n"
                    } else {
                        struct Line: Encodable {
                            var queue_ids: [String]; var message_id: String?; var sender: String?; var recipient: String; var orig_recipient: String?
                            var status: String; var returned: Bool; var attempts: Int; var first_seen: String; var last_attempt: String
                            var dsn: String?; var relay: String?; var reason: String?
                        }
                        let line = Line(queue_ids: m.queueIDs, message_id: m.messageID, sender: m.sender, recipient: r.recipient, orig_recipient: r.origRecipient,
                                        status: r.status, returned: r.returned, attempts: r.attempts, first_seen: t(m.firstSeen), last_attempt: t(r.lastAttempt),
                                        dsn: r.dsn, relay: r.relay, reason: r.reason)
                        out += String(decoding: try encoder.encode(line), as: UTF8.self) + "\n"
                    }
                }
            }
            for r in result.rejections {
                if format == "csv" {
                    out += ["", "", r.sender ?? "", r.recipient ?? "", "", "rejected", "false", "0", t(r.time), t(r.time), r.dsn ?? "", "", r.reason]
                        .map(csvField).joined(separator: ",") + "\n"
                } else {
                    out += String(decoding: try encoder.encode(["status": "rejected", "sender": r.sender ?? "", "recipient": r.recipient ?? "",
                                                                "first_seen": t(r.time), "dsn": r.dsn ?? "", "reason": r.reason]), as: UTF8.self) + "\n"
                }
            }
            return Response(status: .ok, headers: [.contentType: format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson",
                                                   .contentDisposition: "attachment; filename=\"messages.\(format)\""],
                            body: .init(byteBuffer: ByteBuffer(string: out)))
        default:
            throw HTTPError(.badRequest, message: "format must be json, jsonl or csv")
        }
    }

    func csvField(_ s: String) -> String {
        // Cells a spreadsheet would run as formulas are quoted with a leading apostrophe.
        var v = s
        if let f = v.first, "=+-@".contains(f) { v = "'" + v }
        if v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return v
    }

    // MARK: page

    @Sendable func page(_ request: Request, context: AppRequestContext) async throws -> Response {
        if context.identity == nil && settings.value(.detectivePublicPage) != "true" {
            return .redirect(to: context.base + "/login?next=%2Fdetective", type: .found)
        }
        return try render(request.query, context: context, extra: [:])
    }

    /// From the public page: a bounced or expired message is brought to the administrator's attention
    /// as an insight, once per (message, recipient). The search is made again from the form, so only
    /// a message the person could find can be escalated.
    @Sendable func escalate(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard settings.value(.detectivePublicPage) == "true" else {
            return .redirect(to: context.base + "/login?next=%2Fdetective", type: .found)
        }
        var request = request
        let form = try await request.form(context)
        var q: [String: String] = [:]
        for k in ["sender", "recipient", "from", "to", "tz"] { if let v = form[k] { q[k] = v } }
        let l = context.localizer
        if let wait = publicLimiter.hit(context.client.client) {
            var r = try render(q, context: context, extra: ["error": l.t("Too many searches. Try again in {{seconds}} seconds.", ["seconds": String(wait)])],
                               search: false, status: .tooManyRequests)
            r.headers[.retryAfter] = String(wait)
            return r
        }
        let found: FoundMessage?
        let recipient: FoundRecipient?
        do {
            let (sq, _) = try query(q, publicPage: true, page: 1)
            let wanted = sq.recipient!.lowercased()
            found = try db.search(sq).messages.first { String($0.id) == form["message"] }
            recipient = found?.recipients.first {
                ($0.recipient.lowercased() == wanted || $0.origRecipient?.lowercased() == wanted) && ($0.status == "bounced" || $0.status == "expired")
            }
        } catch let e as BadQuery {
            return try render(q, context: context, extra: ["error": l.t(e.message)], search: false, status: .badRequest)
        }
        guard let m = found, let r = recipient else {
            return try render(q, context: context, extra: ["error": l.t("Only a bounced or expired message you found here can be escalated.")],
                              status: .badRequest)
        }
        let insight = Insight(
            time: Int64(Date().timeIntervalSince1970), kind: "detective_escalation", category: "local", rating: "bad",
            title: "\(m.sender ?? "") asks why a message to \(r.recipient) was not delivered",
            details: ["queue_ids": m.queueIDs.joined(separator: " "), "message_id": m.messageID ?? "", "sender": m.sender ?? "",
                      "recipient": r.recipient, "status": r.status, "dsn": r.dsn ?? "", "reply": r.reason ?? "",
                      "attempts": String(r.attempts), "first_seen": String(m.firstSeen), "last_attempt": r.lastAttempt.map(String.init) ?? ""],
            key: "detective_escalation:\(m.id):\(r.recipient.lowercased())")
        let created = try db.insertInsight(insight) != nil
        if created { context.logger.notice("detective escalation", metadata: ["message": .stringConvertible(m.id)]) }
        return try render(q, context: context, extra: ["notice": created
            ? l.t("The postmaster has been told and will look into it.")
            : l.t("This message was escalated already; the postmaster knows.")])
    }

    func render(_ q: [String: String], context: AppRequestContext, extra: [String: Any], search: Bool = true,
                status: HTTPResponse.Status = .ok) throws -> Response {
        let signedIn = context.identity != nil
        let l = context.localizer
        let page = max(1, Int(q["page"] ?? "1") ?? 1)
        var values: [String: Any] = extra
        values["navDetective"] = true
        values["publicPage"] = !signedIn
        values["q_tz"] = q["tz"] ?? ""
        for k in ["sender", "recipient", "from", "to", "queue_id", "message_id"] { values["q_" + k] = q[k] ?? "" }
        values["statuses"] = [["value": "", "label": l.t("Any"), "selected": (q["status"] ?? "").isEmpty]]
            + SearchStatus.allCases.map { ["value": $0.rawValue, "label": l.t(Self.labels[$0.rawValue]!), "selected": q["status"] == $0.rawValue] }
        let asked = ["sender", "recipient", "queue_id", "message_id", "status", "from", "to"].contains { !(q[$0] ?? "").isEmpty }
        guard asked, search else { return pages.render("detective", values, context: context, status: status) }
        if !signedIn, extra.isEmpty, let wait = publicLimiter.hit(context.client.client) {
            values["error"] = l.t("Too many searches. Try again in {{seconds}} seconds.", ["seconds": String(wait)])
            var r = pages.render("detective", values, context: context, status: .tooManyRequests)
            r.headers[.retryAfter] = String(wait)
            return r
        }
        let sq: SearchQuery
        let period: Period?
        do {
            (sq, period) = try query(q, publicPage: !signedIn, page: page)
        } catch let e as BadQuery {
            values["error"] = l.t(e.message)
            return pages.render("detective", values, context: context, status: .badRequest)
        }
        var result = try db.search(sq)
        if !signedIn {
            // Only the recipient asked about; nothing about other recipients, hosts or clients.
            let wanted = sq.recipient!.lowercased()
            result.messages = result.messages.compactMap { m in
                var m = m
                m.recipients = m.recipients.filter { $0.recipient.lowercased() == wanted || $0.origRecipient?.lowercased() == wanted }
                return m.recipients.isEmpty ? nil : m
            }
            result.rejections = result.rejections.filter { $0.recipient?.lowercased() == wanted }
        }
        let tz = period?.timeZone ?? .current
        values["searched"] = true
        values["hasResults"] = !result.messages.isEmpty || !result.rejections.isEmpty
        values["messages"] = try result.messages.map { m -> [String: Any] in
            var v: [String: Any] = [
                "id": m.id, "time": l.dateTime(m.firstSeen, timeZone: tz), "sender": m.sender.map { $0.isEmpty ? "<>" : $0 } ?? "",
                "queueIDs": m.queueIDs.joined(separator: ", "), "messageID": m.messageID ?? "", "hasMessageID": m.messageID != nil,
                "hop": m.queueIDs.count > 1,
            ]
            // Empty values are false: an empty string would still open its section.
            v["size"] = m.size.map { l.number(Int($0)) } ?? false
            let client = [m.clientHost, m.clientIP.map { "[\($0)]" }].compactMap { $0 }.joined()
            v["client"] = signedIn && !client.isEmpty ? client : false
            v["sasl"] = signedIn ? (m.saslUsername.flatMap { $0.isEmpty ? nil : $0 } ?? false) : false
            v["recipients"] = m.recipients.map { r -> [String: Any] in
                [
                    "recipient": r.recipient, "orig": r.origRecipient ?? "", "hasOrig": r.origRecipient != nil,
                    "status": l.t(Self.labels[r.status] ?? r.status), "statusClass": r.status, "returned": r.returned,
                    "attempts": r.attempts, "last": r.lastAttempt.map { l.dateTime($0, timeZone: tz) } ?? "",
                    "dsn": r.dsn ?? "", "relay": signedIn ? (r.relay ?? "") : "", "reason": signedIn ? (r.reason ?? "") : "",
                    "canEscalate": !signedIn && (r.status == "bounced" || r.status == "expired"), "messageKey": m.id,
                    "log": r.log.filter { !$0.hop }.map { a -> [String: Any] in
                        ["time": l.dateTime(a.time, timeZone: tz), "status": l.t(Self.labels[a.status] ?? a.status), "dsn": a.dsn ?? "",
                         "relay": signedIn ? a.relay : "", "reply": signedIn ? a.reply : ""]
                    },
                ]
            }
            if signedIn {
                let lines = try db.rawLines(messageID: m.id)
                v["raw"] = lines.joined(separator: "\n")
                v["hasRaw"] = !lines.isEmpty
            }
            return v
        }
        values["rejections"] = result.rejections.map { r -> [String: Any] in
            ["time": l.dateTime(r.time, timeZone: tz), "sender": r.sender ?? "", "recipient": r.recipient ?? "",
             "client": signedIn ? [r.clientHost, r.clientIP.map { "[\($0)]" }].compactMap { $0 }.joined() : "",
             "code": [r.code.map(String.init), r.dsn].compactMap { $0 }.joined(separator: " "), "reason": r.reason]
        }
        values["hasRejections"] = !result.rejections.isEmpty
        if signedIn {
            var params = q
            params["page"] = nil
            let base = params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
                .joined(separator: "&")
            values["queryString"] = base
            if page > 1 { values["prevPage"] = page - 1 }
            if result.hasMore { values["nextPage"] = page + 1 }
            values["page"] = page
        }
        return pages.render("detective", values, context: context, status: status)
    }

    static let labels = ["sent": N_("Sent"), "bounced": N_("Bounced"), "deferred": N_("Deferred"), "expired": N_("Expired"),
                         "returned": N_("Returned"), "received": N_("Received"), "rejected": N_("Rejected"), "pending": N_("Pending")]
}
