import AsyncHTTPClient
import Auth
import Foundation
import L10n
import NIOCore
import NIOHTTP1

/// Why a delivery failed, and when to try again.
public struct DeliveryError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The other side asked to wait this many seconds (429 with Retry-After).
        case retryAfter(Int64)
        /// Worth trying again later: a network error, a 5xx, an SMTP 4xx.
        case temporary
        /// Will fail again until the settings change: a refused token, an unknown channel, an SMTP 5xx.
        case configuration
    }

    public var kind: Kind
    /// What went wrong: an English message id and its values, translated where it is shown.
    public var text: Message
    /// In English (the logs, the API).
    public var message: String { text.description }
    public var description: String { message }

    public init(_ kind: Kind, _ id: String, _ values: [String: String] = [:]) {
        self.kind = kind
        text = Message(id, values)
    }

    /// As the outbox and a channel's status keep it: the message id and its values as JSON, so that
    /// each reader shows it in its own language.
    public var stored: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try? encoder.encode(Stored(id: text.id, values: text.values))
        return data.map { String(decoding: $0, as: UTF8.self) } ?? message
    }

    /// A stored error as a message; the English text that earlier versions stored stays as it is.
    public static func message(stored: String) -> Message {
        if stored.hasPrefix("{"), let s = try? JSONDecoder().decode(Stored.self, from: Data(stored.utf8)) {
            return Message(s.id, s.values)
        }
        return Message(stored)
    }

    struct Stored: Codable {
        var id: String
        var values: [String: String]
    }
}

/// Somewhere notifications go.
public protocol NotificationChannel: Sendable {
    var name: String { get }
    func send(_ content: NotificationContent) async throws
}

let userAgent = "lightmeter-control-center"

/// POSTs a JSON body and returns the answer's status and body. A network error is temporary; a 429
/// waits for its Retry-After; `label` names the channel and `host` the other side in the errors.
func postJSON(_ client: HTTPClient, url: String, body: Data, headers: [(String, String)], label: String, host: String,
              maxAnswer: Int = 1 << 20) async throws -> (code: UInt, body: ByteBuffer) {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
    request.headers.add(name: "User-Agent", value: userAgent)
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    request.body = .bytes(ByteBuffer(bytes: body))
    let response: HTTPClientResponse
    do {
        response = try await client.execute(request, timeout: .seconds(20))
    } catch {
        throw DeliveryError(.temporary, N_("{{channel}}: cannot reach {{host}}: {{error}}"), ["channel": label, "host": host, "error": "\(error)"])
    }
    let answer = (try? await response.body.collect(upTo: maxAnswer)) ?? ByteBuffer()
    if response.status == .tooManyRequests {
        let wait = response.headers.first(name: "Retry-After").flatMap { Int64($0) } ?? 60
        throw DeliveryError(.retryAfter(wait), N_("{{channel}}: rate limited, retry after {{seconds}} s"), ["channel": label, "seconds": String(wait)])
    }
    return (response.status.code, answer)
}

/// Slack's Web API: `chat.postMessage` with a bot token.
public struct SlackChannel: NotificationChannel {
    public let name = "slack"
    let config: NotifyConfig.Slack
    let client: HTTPClient

    public init(config: NotifyConfig.Slack, client: HTTPClient = .shared) {
        self.config = config
        self.client = client
    }

    /// Slack's mrkdwn: &, < and > are escaped; the rest is shown as written.
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    static let explanations = [
        "not_in_channel": N_("Slack: {{code}}: the bot is not a member of the channel: invite it there (/invite @your-bot)"),
        "channel_not_found": N_("Slack: {{code}}: no such channel, or the bot cannot see it"),
        "invalid_auth": N_("Slack: {{code}}: Slack refused the token"),
        "not_authed": N_("Slack: {{code}}: no token was sent"),
        "account_inactive": N_("Slack: {{code}}: the token belongs to a deleted user or app"),
        "token_revoked": N_("Slack: {{code}}: the token was revoked"),
        "missing_scope": N_("Slack: {{code}}: the token lacks the chat:write scope"),
        "is_archived": N_("Slack: {{code}}: the channel is archived"),
    ]

    func payload(_ c: NotificationContent) -> [String: Any] {
        var blocks: [[String: Any]] = []
        func section(_ text: String) -> [String: Any] { ["type": "section", "text": ["type": "mrkdwn", "text": String(text.prefix(2900))]] }
        blocks.append(["type": "header", "text": ["type": "plain_text", "text": String(c.subject.prefix(150)), "emoji": false]])
        if let intro = c.intro { blocks.append(section(Self.escape(intro))) }
        for item in c.items.prefix(20) {
            var text = c.items.count > 1 ? "*\(Self.escape(item.title))*\n" : ""
            text += "\(Self.escape(item.ratingLabel)) · \(Self.escape(item.timeText))"
            for d in item.details.prefix(12) { text += "\n*\(Self.escape(d.label)):* \(Self.escape(d.value))" }
            if let link = item.link { text += "\n<\(link)|\(Self.escape(c.openText))>" }
            blocks.append(section(text))
        }
        if c.items.count > 20 { blocks.append(section("… +\(c.items.count - 20)")) }
        var context = Self.escape(c.footer)
        if let link = c.insightsLink { context += " <\(link)|\(Self.escape(link))>" }
        blocks.append(["type": "context", "elements": [["type": "mrkdwn", "text": context]]])
        // `text` is the fallback of notifications and screen readers.
        return ["channel": config.channel, "text": Self.escape(c.subject), "blocks": blocks, "unfurl_links": false]
    }

    public func send(_ content: NotificationContent) async throws {
        let data = try JSONSerialization.data(withJSONObject: payload(content), options: [.sortedKeys, .withoutEscapingSlashes])
        let (code, body) = try await postJSON(client, url: config.apiBase + "/chat.postMessage", body: data,
                                              headers: [("Authorization", "Bearer " + config.token)], label: "Slack", host: config.apiBase)
        guard code < 300 else {
            throw DeliveryError(code >= 500 ? .temporary : .configuration, N_("Slack: HTTP {{code}}"), ["code": String(code)])
        }
        let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any]
        guard let object else { throw DeliveryError(.temporary, N_("Slack: an answer that is not JSON")) }
        if object["ok"] as? Bool == true { return }
        let error = object["error"] as? String ?? "unknown_error"
        if error == "ratelimited" { throw DeliveryError(.retryAfter(60), N_("Slack: rate limited")) }
        let temporary = ["internal_error", "fatal_error", "service_unavailable", "request_timeout"].contains(error)
        throw DeliveryError(temporary ? .temporary : .configuration, Self.explanations[error] ?? N_("Slack: {{code}}"), ["code": error])
    }
}

/// A JSON POST to any URL (Mattermost, Teams, ntfy, a script), signed with HMAC-SHA-256 when a secret
/// is set: `X-Lightmeter-Signature: sha256=<hex of HMAC(secret, body)>`.
public struct WebhookChannel: NotificationChannel {
    public let name = "webhook"
    let config: NotifyConfig.Webhook
    let client: HTTPClient

    public init(config: NotifyConfig.Webhook, client: HTTPClient = .shared) {
        self.config = config
        self.client = client
    }

    public static func body(_ c: NotificationContent, now: Int64) throws -> Data {
        let items: [[String: Any]] = c.items.map { i in
            var o: [String: Any] = ["kind": i.kind, "rating": i.rating, "category": i.category, "time": i.time, "title": i.title, "details": i.values]
            if let id = i.id { o["id"] = id }
            if let link = i.link { o["url"] = link }
            return o
        }
        var o: [String: Any] = [
            "event": c.isTest ? "test" : "insights", "delivery_id": c.deliveryID, "sent_at": now, "language": c.language,
            // `text` (Slack-compatible and Mattermost incoming webhooks, Teams), `title` and `message` (ntfy-style).
            "text": c.subject + "\n" + c.plainText, "title": c.subject, "message": c.plainText, "insights": items,
        ]
        if let link = c.insightsLink { o["url"] = link }
        return try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .withoutEscapingSlashes])
    }

    public static func signature(secret: String, body: Data) -> String {
        "sha256=" + SHA256.hexString(SHA256.hmac(key: Array(secret.utf8), message: Array(body)))
    }

    public func send(_ content: NotificationContent) async throws {
        let now = Int64(Date().timeIntervalSince1970)
        let body = try Self.body(content, now: now)
        var headers = [("X-Lightmeter-Delivery", content.deliveryID), ("X-Lightmeter-Event", content.isTest ? "test" : "insights")]
        if let secret = config.secret { headers.append(("X-Lightmeter-Signature", Self.signature(secret: secret, body: body))) }
        let host = URL(string: config.url)?.host ?? config.url
        let (code, _) = try await postJSON(client, url: config.url, body: body, headers: headers, label: "webhook", host: host, maxAnswer: 1 << 16)
        guard (200..<300).contains(code) else {
            throw DeliveryError(code >= 500 || code == 408 ? .temporary : .configuration, N_("webhook: {{host}} answered HTTP {{code}}"),
                                ["host": host, "code": String(code)])
        }
    }
}
