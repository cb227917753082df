import Foundation
import Insights
import L10n
@testable import Notify
import Store
import Testing

/// A clock the test moves.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var t: Int64
    init(_ t: Int64) { self.t = t }
    var now: Int64 { lock.withLock { t } }
    func advance(_ s: Int64) { lock.withLock { t += s } }
}

/// Settings as the web's store gives them: key -> value.
final class SettingsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: String]
    init(_ v: [String: String]) { values = v }
    func lookup(_ k: String) -> String? { lock.withLock { values[k] } }
    func set(_ k: String, _ v: String?) { lock.withLock { values[k] = v } }
}

let t0: Int64 = 1_780_000_000

func bounceInsight(_ n: Int, time: Int64 = t0) -> Insight {
    Insight(time: time, kind: "high_bounce_rate", category: "local", rating: "bad", title: "High bounce rate",
            details: ["rate_percent": "12.\(n)", "outbound": "200", "bounced": "25", "sender_domain": "shop<\(n)>.example"], key: "hbr-\(n)")
}

func makeNotifier(_ db: AppDatabase, _ settings: SettingsBox, _ clock: ManualClock, server: FakeServer) -> Notifier {
    Notifier(db: db, config: { NotifyConfig.load(settings.lookup, environment: ["LIGHTMETER_SLACK_API_URL": server.base + "/api"]) },
             now: { clock.now })
}

@Suite("Slack, against a local server that speaks its Web API")
struct SlackTests {
    @Test("a new insight is posted once, as blocks, with the bot token and a link to it")
    func success() async throws {
        let server = FakeServer { _, _ in .init(body: #"{"ok":true,"channel":"C1","ts":"1.2"}"#) }
        try await server.start()
        defer { Task { await server.stop() } }
        let db = try AppDatabase.inMemory()
        let settings = SettingsBox(["notifications.slack_token": "xoxb-good", "notifications.slack_channel": "#mail-ops",
                                    "general.public_url": "https://mail.example.com/lm/"])
        let clock = ManualClock(t0)
        let notifier = makeNotifier(db, settings, clock, server: server)
        await notifier.runOnce() // the first round only marks where notifications start
        let saved = try #require(try db.insertInsight(bounceInsight(1)))
        #expect(await notifier.runOnce() == 1)
        #expect(await notifier.runOnce() == 0)
        let reqs = server.requests
        try #require(reqs.count == 1)
        #expect(reqs[0].headers["authorization"] == "Bearer xoxb-good")
        let body = reqs[0].json
        #expect(body["channel"] as? String == "#mail-ops")
        let text = reqs[0].body
        // Log-derived text is escaped for Slack's mrkdwn (the header block is plain text); the link goes to the insight.
        #expect((body["text"] as? String)?.contains("shop&lt;1&gt;.example") == true)
        let blocks = try #require(body["blocks"] as? [[String: Any]])
        let section = try #require(blocks.first { $0["type"] as? String == "section" }?["text"] as? [String: Any])
        #expect((section["text"] as? String)?.contains("shop&lt;1&gt;.example") == true)
        #expect((section["text"] as? String)?.contains("shop<1>") == false)
        #expect(blocks.first?["type"] as? String == "header")
        #expect(text.contains("https://mail.example.com/lm/insights?state=all#insight-\(saved.id!)"))
        #expect(try db.outboxItems(channel: "slack").map(\.state) == ["sent"])
        #expect(Notifier.status(db, channel: "slack")?.ok == true)
    }

    @Test("not_in_channel and invalid_auth are kept, explained, shown and retried later with a growing delay")
    func refusals() async throws {
        let server = FakeServer { r, _ in
            let token = r.headers["authorization"] ?? ""
            if token.hasSuffix("xoxb-revoked") { return .init(body: #"{"ok":false,"error":"invalid_auth"}"#) }
            if (r.json["channel"] as? String) == "#secret" { return .init(body: #"{"ok":false,"error":"not_in_channel"}"#) }
            return .init(body: #"{"ok":true}"#)
        }
        try await server.start()
        defer { Task { await server.stop() } }
        let db = try AppDatabase.inMemory()
        let settings = SettingsBox(["notifications.slack_token": "xoxb-good", "notifications.slack_channel": "#secret"])
        let clock = ManualClock(t0)
        let notifier = makeNotifier(db, settings, clock, server: server)
        await notifier.runOnce()
        _ = try db.insertInsight(bounceInsight(1))
        #expect(await notifier.runOnce() == 0)
        var item = try #require(try db.outboxItems(channel: "slack").first)
        #expect(item.state == "pending")
        #expect(item.attempts == 1)
        #expect(item.lastError?.contains("not_in_channel") == true)
        #expect(item.lastError?.contains("invite") == true)
        #expect(item.nextAttemptAt == t0 + 60)
        #expect(Notifier.status(db, channel: "slack")?.message?.contains("not_in_channel") == true)
        // Not again before its time.
        clock.advance(30)
        #expect(await notifier.runOnce() == 0)
        #expect(server.requests.count == 1)
        clock.advance(30)
        #expect(await notifier.runOnce() == 0)
        item = try #require(try db.outboxItems(channel: "slack").first)
        #expect(item.attempts == 2)
        #expect(item.nextAttemptAt == clock.now + 120)

        // The test button says what is wrong with the token.
        settings.set("notifications.slack_token", "xoxb-revoked")
        settings.set("notifications.slack_channel", "#mail-ops")
        guard case .failure(let e) = await notifier.sendTest(channel: "slack") else { Issue.record("the test passed"); return }
        #expect(e.message.contains("invalid_auth"))
        #expect(Notifier.status(db, channel: "slack")?.test == true)

        // Fixed settings: what waits goes at once, without waiting for its backoff.
        settings.set("notifications.slack_token", "xoxb-good")
        #expect(await notifier.runOnce() == 1)
        #expect(try db.outboxItems(channel: "slack").map(\.state) == ["sent"])
        guard case .success = await notifier.sendTest(channel: "slack") else { Issue.record("the test failed"); return }
    }

    @Test("429 with Retry-After: the next attempt waits exactly that long")
    func rateLimited() async throws {
        let server = FakeServer { _, n in
            n == 1 ? .init(status: .tooManyRequests, headers: ["Retry-After": "7"], body: #"{"ok":false,"error":"ratelimited"}"#)
                   : .init(body: #"{"ok":true}"#)
        }
        try await server.start()
        defer { Task { await server.stop() } }
        let db = try AppDatabase.inMemory()
        let settings = SettingsBox(["notifications.slack_token": "xoxb-good", "notifications.slack_channel": "#mail-ops"])
        let clock = ManualClock(t0)
        let notifier = makeNotifier(db, settings, clock, server: server)
        await notifier.runOnce()
        _ = try db.insertInsight(bounceInsight(1))
        #expect(await notifier.runOnce() == 0)
        #expect(try db.outboxItems(channel: "slack").first?.nextAttemptAt == t0 + 7)
        clock.advance(6)
        #expect(await notifier.runOnce() == 0)
        #expect(server.requests.count == 1)
        clock.advance(1)
        #expect(await notifier.runOnce() == 1)
        #expect(server.requests.count == 2)
    }

    @Test("many insights at once go as one digest; kinds outside the policy do not notify")
    func digestAndPolicy() async throws {
        let server = FakeServer { _, _ in .init(body: #"{"ok":true}"#) }
        try await server.start()
        defer { Task { await server.stop() } }
        let db = try AppDatabase.inMemory()
        let settings = SettingsBox(["notifications.slack_token": "xoxb-good", "notifications.slack_channel": "#mail-ops"])
        let clock = ManualClock(t0)
        let notifier = makeNotifier(db, settings, clock, server: server)
        await notifier.runOnce()
        for n in 1...5 { _ = try db.insertInsight(bounceInsight(n)) }
        // An import summary is information: not in the default policy.
        _ = try db.insertInsight(Insight(time: t0, kind: "import_summary", category: "local", rating: "info", title: "Imported",
                                         details: ["insights": "5"], key: "import_summary"))
        // Archived on arrival (history): not news.
        var old = bounceInsight(9)
        old.active = false
        _ = try db.insertInsight(old)
        #expect(await notifier.runOnce() == 5)
        try #require(server.requests.count == 1)
        #expect(server.requests[0].json["text"] as? String == "5 new insights")
        // The policy is per kind.
        settings.set("notifications.kinds", "import_summary")
        _ = try db.insertInsight(bounceInsight(6))
        _ = try db.insertInsight(Insight(time: t0, kind: "import_summary", category: "local", rating: "info", title: "Imported",
                                         details: ["insights": "1"], key: "import_summary-2"))
        #expect(await notifier.runOnce() == 1)
        #expect(server.requests.count == 2)
        #expect((server.requests[1].json["text"] as? String)?.contains("Logs imported") == true)
    }
}

@Suite("Webhooks")
struct WebhookTests {
    @Test("HMAC-SHA-256 as RFC 4231 gives it")
    func hmacVector() {
        #expect(WebhookChannel.signature(secret: "Jefe", body: Data("what do ya want for nothing?".utf8))
            == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("a JSON POST, signed, with a delivery id; a 5xx is retried")
    func signedPost() async throws {
        let server = FakeServer { _, n in n == 1 ? .init(status: .serviceUnavailable) : .init(status: .noContent) }
        try await server.start()
        defer { Task { await server.stop() } }
        let db = try AppDatabase.inMemory()
        let settings = SettingsBox(["notifications.webhook_url": server.base + "/hook", "notifications.webhook_secret": "s3cret"])
        let clock = ManualClock(t0)
        let notifier = makeNotifier(db, settings, clock, server: server)
        await notifier.runOnce()
        let saved = try #require(try db.insertInsight(bounceInsight(1)))
        #expect(await notifier.runOnce() == 0)
        #expect(try db.outboxItems(channel: "webhook").first?.lastError?.contains("503") == true)
        clock.advance(60)
        #expect(await notifier.runOnce() == 1)
        let reqs = server.requests
        try #require(reqs.count == 2)
        let r = reqs[1]
        #expect(r.headers["x-lightmeter-signature"] == WebhookChannel.signature(secret: "s3cret", body: Data(r.body.utf8)))
        #expect(r.headers["x-lightmeter-delivery"] == reqs[0].headers["x-lightmeter-delivery"])
        let insights = try #require(r.json["insights"] as? [[String: Any]])
        #expect(insights.first?["id"] as? Int == Int(saved.id!))
        #expect(insights.first?["kind"] as? String == "high_bounce_rate")
        #expect((insights.first?["details"] as? [String: String])?["sender_domain"] == "shop<1>.example")
        #expect(r.json["text"] is String)
    }

    @Test("a restart with a pending outbox delivers exactly once, also after a kill during a delivery")
    func restartExactlyOnce() async throws {
        let server = FakeServer { _, _ in .init(status: .serviceUnavailable) }
        try await server.start()
        defer { Task { await server.stop() } }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let settings = SettingsBox(["notifications.webhook_url": server.base + "/hook"])
        let clock = ManualClock(t0)
        do {
            let db = try AppDatabase.open(workspace: dir)
            let first = makeNotifier(db, settings, clock, server: server)
            await first.runOnce()
            _ = try db.insertInsight(bounceInsight(1))
            _ = try db.insertInsight(bounceInsight(2))
            #expect(await first.runOnce() == 0) // the receiver is down: both wait
            // The second is being delivered when the process is killed.
            let ids = try db.outboxItems().compactMap(\.id)
            try db.markSending([ids[1]])
        }
        server.setScript { _, _ in .init(status: .ok) }
        clock.advance(3600)
        let db = try AppDatabase.open(workspace: dir)
        let second = makeNotifier(db, settings, clock, server: server)
        let run = Task { try await second.run() }
        for _ in 0..<100 where server.requests.filter({ $0.headers["x-lightmeter-delivery"] != nil }).count < 3 {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .milliseconds(300))
        run.cancel()
        _ = try? await run.value
        await second.runOnce()
        // One failed attempt for the first, then one delivery of each.
        let deliveries = server.requests.map { $0.headers["x-lightmeter-delivery"] ?? "" }
        #expect(deliveries.count == 3)
        #expect(Set(deliveries.dropFirst()).count == 2)
        #expect(try db.outboxItems().map(\.state) == ["sent", "sent"])
    }
}

@Suite("Notification text")
struct ContentTests {
    @Test("in German, from the catalogue, in every channel's rendering")
    func german() throws {
        let de = Translations.shared.localizer("de")
        var i = bounceInsight(1)
        i.id = 42
        let c = NotificationContent.make([i], deliveryID: "lm-email-1", localizer: de, publicURL: "https://mail.example.com")
        let german = de.t("High bounce rate: {{rate_percent}}% of outbound mail from {{sender_domain}} bounced in the last hours",
                          i.detailValues)
        #expect(c.subject == german)
        #expect(!german.hasPrefix("High bounce rate"))
        #expect(c.footer == de.t("Sent by Control Center, the mail-ops monitor of your Postfix server."))
        #expect(c.footer != "Sent by Control Center, the mail-ops monitor of your Postfix server.")
        let mail = EmailMessage.render(c, from: "lm@example.com", to: ["ops@example.com"])
        #expect(mail.contains("Subject: " + EmailMessage.encodeHeader(german) + "\r\n"))
        #expect(mail.contains("Message-ID: <lm-email-1@example.com>"))
        let html = EmailMessage.html(c)
        #expect(html.contains("lang=\"de\""))
        #expect(html.contains("shop&lt;1&gt;.example"))
        let digest = NotificationContent.make([i, bounceInsight(2)], deliveryID: "x", localizer: de, publicURL: nil)
        #expect(digest.subject == de.t("{{count}} new insight", "{{count}} new insights", count: 2))
        #expect(digest.subject.contains("2"))
    }

    @Test("dot-stuffing and CRLF line ends")
    func dots() {
        #expect(SMTPClient.dotStuffed("a\n.b\r\n..c\n") == "a\r\n..b\r\n...c\r\n")
    }
}
