import Foundation
import Hummingbird

/// The REST API, described once: served as an OpenAPI 3 document at /api/openapi.json and as a
/// readable page at /api. A test holds it to the registered routes.
enum APIDoc {
    struct Param {
        var name: String
        var location = "query"
        var type = "string"
        var description: String
        var required = false
    }

    struct Endpoint {
        var method: String
        var path: String
        var summary: String
        var params: [Param] = []
        var body: String? = nil
        var response: String
        var example: String
        var isPublic = false
    }

    static let period: [Param] = [
        .init(name: "from", description: "First day, YYYY-MM-DD (default: 6 days before `to`)."),
        .init(name: "to", description: "Last day, YYYY-MM-DD, included (default: today)."),
        .init(name: "tz", description: "IANA time zone of the days, e.g. Europe/Berlin (default: the server's)."),
    ]

    static let endpoints: [Endpoint] = [
        .init(method: "GET", path: "/healthz", summary: "Whether ingestion is alive: 200, or 503 with the error. No authentication.",
              response: "Health", example: #"{"status":"ok","ingestion":{"alive":true,"secondsSinceLastPass":0.4,"lines":120000,"filesDone":3,"filesTotal":3}}"#, isPublic: true),
        .init(method: "GET", path: "/api/v0/appVersion", summary: "The version of Control Center.", response: "AppVersion", example: #"{"version":"0.1.0"}"#),
        .init(method: "GET", path: "/api/v0/countByStatus", summary: "Outcomes per (message, recipient) of the messages first seen in the period, as the export counts them; `returned` counts recipients whose failure was reported to the sender; `rejected` counts rejections.",
              params: period, response: "StatusCounts", example: #"{"bounced":15,"deferred":0,"expired":11,"rejected":7,"returned":23,"sent":62}"#),
        .init(method: "GET", path: "/api/v0/deliveryStatus", summary: "The same split as a list, for charts.", params: period,
              response: "StatusList", example: #"[{"status":"sent","value":62},{"status":"bounced","value":15}]"#),
        .init(method: "GET", path: "/api/v0/topBusiestDomains", summary: "The 20 recipient domains (after domain mapping) with the most outbound deliveries.", params: period,
              response: "DomainList", example: #"[{"domain":"gmail.com","value":1200},{"domain":"outlook.com","value":800}]"#),
        .init(method: "GET", path: "/api/v0/topBouncedDomains", summary: "The 20 recipient domains with the most bounced outbound deliveries.", params: period,
              response: "DomainList", example: #"[{"domain":"example.net","value":12}]"#),
        .init(method: "GET", path: "/api/v0/topDeferredDomains", summary: "The 20 recipient domains with the most outbound deliveries still deferred.", params: period,
              response: "DomainList", example: #"[{"domain":"example.org","value":3}]"#),
        .init(method: "GET", path: "/api/v0/deliveriesOverTime", summary: "Counts per interval, per direction (outbound, inbound, local) and status.",
              params: period + [.init(name: "granularity", description: "auto (hours up to 3 days, else days), hour (up to 31 days) or day.")],
              response: "Series", example: #"{"granularity":"day","timezone":"UTC","times":[1764028800],"labels":["2025-11-25"],"series":[{"direction":"outbound","status":"sent","values":[62]}]}"#),
        .init(method: "GET", path: "/api/v0/importProgress", summary: "The import under way: value 0-100, whether it is active, files and lines done.",
              response: "ImportProgress", example: #"{"active":true,"filesDone":2,"filesTotal":5,"lines":1200000,"time":"2026-11-25T10:00:00Z","value":40}"#),
        .init(method: "GET", path: "/api/v0/search", summary: "The message detective: messages (newest first, each with every recipient's outcome and attempts) and rejections. Addresses may be partial (a domain or part of an address).",
              params: [
                .init(name: "sender", description: "Sender address, or part of it."),
                .init(name: "recipient", description: "Recipient address (or the address it was sent to before alias expansion), or part of it."),
                .init(name: "from", description: "First day, YYYY-MM-DD."),
                .init(name: "to", description: "Last day, YYYY-MM-DD, included."),
                .init(name: "tz", description: "IANA time zone of the days (default: the server's)."),
                .init(name: "status", description: "sent, bounced, deferred, expired, returned, received or rejected."),
                .init(name: "queue_id", description: "A queue id of the message (any of its content-filter hops)."),
                .init(name: "message_id", description: "The Message-ID header, with or without angle brackets."),
                .init(name: "page", type: "integer", description: "Page of 50 (default 1)."),
                .init(name: "format", description: "json (default), or csv or jsonl: one row per (message, recipient), up to `limit` (default 10000)."),
              ],
              response: "SearchResult", example: #"{"hasMore":false,"messages":[{"firstSeen":1764064800,"id":7,"messageID":"m1@example.org","queueIDs":["4AB12C0001"],"recipients":[{"attempts":1,"direction":"outbound","dsn":"5.1.1","log":[],"recipient":"b@example.net","returned":true,"status":"bounced"}],"sender":"a@example.org"}],"rejections":[]}"#),
        .init(method: "GET", path: "/api/v0/insights", summary: "Insights, newest first: what the administrator should know (escalations from the public detective page...).",
              params: [
                .init(name: "state", description: "active (default), archived or all."),
                .init(name: "kind", description: "Only this kind, e.g. detective_escalation."),
                .init(name: "category", description: "local, comparative or news."),
                .init(name: "from", description: "First day, YYYY-MM-DD."),
                .init(name: "to", description: "Last day, YYYY-MM-DD, included."),
              ],
              response: "InsightList", example: #"[{"active":true,"category":"local","details":{"queue_ids":"4AB12C0001","recipient":"b@example.net","status":"bounced"},"id":1,"kind":"detective_escalation","rating":"bad","time":1764064800,"title":"a@example.org asks why a message to b@example.net was not delivered"}]"#),
        .init(method: "POST", path: "/api/v0/insights/{id}/archive", summary: "Archives an insight.",
              params: [.init(name: "id", location: "path", type: "integer", description: "The insight's id.", required: true)],
              response: "Insight", example: #"{"active":false,"id":1}"#),
        .init(method: "POST", path: "/api/v0/insights/{id}/rating", summary: "Says whether an insight was useful.",
              params: [.init(name: "id", location: "path", type: "integer", description: "The insight's id.", required: true)],
              body: #"{"useful":true}"#, response: "Insight", example: #"{"id":1,"useful":true}"#),
        .init(method: "GET", path: "/api/v0/user", summary: "The signed-in account.", response: "User", example: #"{"email":"ada@example.org","id":1,"isAdmin":true,"name":"Ada"}"#),
        .init(method: "GET", path: "/api/v0/tokens", summary: "Your API tokens (never their secrets).", response: "TokenList",
              example: #"[{"createdAt":1764028800,"id":3,"lastUsedAt":null,"name":"backup","prefix":"lmt_Ab12Cd"}]"#),
        .init(method: "POST", path: "/api/v0/tokens", summary: "Creates a token; its secret is in this answer only.", body: #"{"name":"backup"}"#,
              response: "Token", example: #"{"createdAt":1764028800,"id":4,"name":"backup","prefix":"lmt_Xy98Zw","token":"lmt_Xy98Zw..."}"#),
        .init(method: "DELETE", path: "/api/v0/tokens/{id}", summary: "Revokes one of your tokens: 204, or 404.",
              params: [.init(name: "id", location: "path", type: "integer", description: "The token's id.", required: true)], response: "None", example: ""),
        .init(method: "GET", path: "/api/v0/settings", summary: "The settings by group; secrets only say whether they are set.", response: "Settings",
              example: #"{"detective":{"public_page":false},"general":{"data_retention_days":90,"language":null,"postfix_public_ip":null,"public_url":null},"notifications":{"slack_token":{"set":true}}}"#),
        .init(method: "POST", path: "/api/v0/settings", summary: "Changes the settings given (administrators); null clears one. 422 with the problem of each field, saving nothing, when one is invalid.",
              body: ##"{"general":{"data_retention_days":30},"notifications":{"slack_channel":"#mail"}}"##, response: "Settings", example: #"{"general":{"data_retention_days":30}}"#),
        .init(method: "GET", path: "/api/v0/notifications", summary: "Each notification channel (administrators): set up or not, its outbox (waiting, sent, given up), its last error and its last delivery or test.",
              response: "Channels", example: ##"[{"channel":"slack","configured":true,"failed":0,"last":{"message":"Slack: not_in_channel: the bot is not a member of the channel","ok":false,"test":false,"time":1764028800},"lastError":"Slack: not_in_channel: the bot is not a member of the channel","pending":1,"sent":12}]"##),
        .init(method: "GET", path: "/api/v0/logins", summary: "SMTP & IMAP logins of the last `days` (1, 7 or 30): totals, the addresses that failed most, the blocked addresses.",
              params: [.init(name: "days", location: "query", type: "integer", description: "1 (default), 7 or 30.")], response: "Logins",
              example: ##"{"blocked":[{"cidr":"203.0.113.7","created_at":1764028800,"expires_at":1764115200,"failures":12,"reason":"12 failed logins in 10 minutes","source":"auto"}],"failing":[{"failures":12,"ip":"203.0.113.7","lastTime":1764028790,"protocols":"imap,smtp","successes":0,"users":3}],"from":1763942400,"stats":{"blockedIPs":1,"failedAttempts":14,"failingIPs":2,"successesAfterFailures":1,"successfulLogins":40},"to":1764028800}"##),
        .init(method: "POST", path: "/api/v0/blocklist", summary: "Blocks an address or a CIDR network (administrators), for `hours` or until unblocked. 422 when it is neither.",
              body: #"{"address":"198.51.100.0/24","hours":48,"reason":"scanner"}"#, response: "Blocked",
              example: #"{"cidr":"198.51.100.0/24","created_at":1764028800,"expires_at":1764201600,"failures":0,"reason":"scanner","source":"manual"}"#),
        .init(method: "DELETE", path: "/api/v0/blocklist", summary: "Unblocks an address or network (administrators): 204, or 404.",
              params: [.init(name: "address", location: "query", type: "string", description: "The address or network as listed.", required: true)], response: "None", example: ""),
        .init(method: "POST", path: "/api/v0/notifications/test", summary: "Sends a test notification through a channel now (administrators) and says how it went.",
              body: #"{"channel":"email"}"#, response: "TestResult", example: #"{"channel":"email","ok":false,"error":"e-mail: mail.example.com refused the login (AUTH PLAIN): 535 5.7.8 Error: authentication failed"}"#),
    ]

    /// The OpenAPI 3 document.
    static var document: [String: Any] {
        var paths: [String: [String: Any]] = [:]
        for e in endpoints {
            var op: [String: Any] = ["summary": e.summary, "operationId": e.method.lowercased() + e.path.split(separator: "/").last!.replacingOccurrences(of: "{id}", with: "ById").capitalized]
            if !e.params.isEmpty {
                op["parameters"] = e.params.map { p in
                    ["name": p.name, "in": p.location, "required": p.required || p.location == "path", "description": p.description,
                     "schema": ["type": p.type]] as [String: Any]
                }
            }
            if let body = e.body {
                op["requestBody"] = ["required": true, "content": ["application/json": ["schema": ["type": "object"], "example": parse(body)]]]
            }
            var responses: [String: Any] = [:]
            if e.example.isEmpty {
                responses["204"] = ["description": "Done."]
            } else {
                let parsed = parse(e.example)
                let schema: [String: Any] = ["type": parsed is [Any] ? "array" : "object"]
                responses[e.method == "POST" && e.path.hasSuffix("tokens") ? "201" : "200"] =
                    ["description": e.response, "content": ["application/json": ["schema": schema, "example": parsed]]]
            }
            if !e.isPublic {
                responses["401"] = ["description": "No session and no valid token."]
                if e.method != "GET" { responses["403"] = ["description": "A session without its CSRF token (X-CSRF-Token), or not allowed."] }
            }
            if !e.params.isEmpty { responses["400"] = ["description": "A parameter is not valid."] }
            op["responses"] = responses
            if e.isPublic { op["security"] = [[String: Any]]() }
            paths[e.path, default: [:]][e.method.lowercased()] = op
        }
        return [
            "openapi": "3.0.3",
            "info": ["title": "Control Center API", "version": "v0",
                     "description": "Mail-ops monitoring for Postfix. Authenticate with an API token (Authorization: Bearer TOKEN) or a session cookie with its CSRF token in X-CSRF-Token for changes."],
            "servers": [["url": "/"]],
            "security": [["bearerAuth": [String]()], ["cookieAuth": [String]()]],
            "components": ["securitySchemes": [
                "bearerAuth": ["type": "http", "scheme": "bearer"],
                "cookieAuth": ["type": "apiKey", "in": "cookie", "name": "lm_session"],
            ]],
            "paths": paths,
        ]
    }

    static func parse(_ s: String) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(s.utf8), options: [.fragmentsAllowed])) ?? s
    }

    static var json: ByteBuffer {
        let data = (try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .prettyPrinted])) ?? Data()
        return ByteBuffer(bytes: data)
    }
}

struct APIDocController {
    let pages: Pages

    func addRoutes(to router: some RouterMethods<AppRequestContext>) {
        let doc = APIDoc.json
        router.get("/api/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: doc))
        }
        router.get("/api") { _, context in
            pages.render("api", ["endpoints": APIDoc.endpoints.map { e -> [String: Any] in
                ["method": e.method, "path": e.path, "summary": e.summary, "anchor": (e.method + e.path).replacingOccurrences(of: "/", with: "-"),
                 "hasParams": !e.params.isEmpty,
                 "params": e.params.map { ["name": $0.name, "in": $0.location, "description": $0.description] },
                 "body": e.body ?? false, "example": e.example, "isPublic": e.isPublic]
            }], context: context)
        }
    }
}
