import Foundation
import Hummingbird
import HummingbirdTesting
import Ingest
import Store
import Testing
@testable import Web

@Suite struct SettingsTests {
    @Test func settingsAreValidatedAndSecretsNeverComeBack() async throws {
        let web = try await TestWeb()
        try await web.admin()
        try await web.test { b in
            _ = try await b.login()
            var r = try await b.request("/api/v0/settings", .post, json: #"""
                {"notifications": {"slack_token": "xoxb-secret-123", "slack_channel": "#mail", "smtp_password": "hunter2-secret", "smtp_port": 465},
                 "general": {"public_url": "https://mail.example.com/", "postfix_public_ip": "192.0.2.25"},
                 "detective": {"public_page": true}}
                """#, headers: [.init("X-CSRF-Token")!: b.csrf!])
            #expect(r.status == .ok)
            #expect(!r.text.contains("xoxb-secret-123") && !r.text.contains("hunter2-secret"))
            r = try await b.request("/api/v0/settings")
            let body = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: [String: Any]]
            #expect((body["notifications"]?["slack_token"] as? [String: Bool])?["set"] == true)
            #expect(body["notifications"]?["slack_channel"] as? String == "#mail")
            #expect(body["notifications"]?["smtp_port"] as? Int == 465)
            #expect(body["detective"]?["public_page"] as? Bool == true)
            #expect(body["general"]?["data_retention_days"] as? Int == 90)
            #expect(!r.text.contains("xoxb-secret-123"))
            // The settings page does not show them either.
            r = try await b.request("/settings")
            #expect(r.status == .ok)
            #expect(!r.text.contains("xoxb-secret-123") && !r.text.contains("hunter2-secret"))
            #expect(r.text.contains("saved; leave empty to keep"))
            // Invalid values: 422, and nothing saved.
            r = try await b.request("/api/v0/settings", .post, json: #"{"general": {"public_url": "ftp://x", "data_retention_days": 0, "language": "de"}}"#,
                                    headers: [.init("X-CSRF-Token")!: b.csrf!])
            #expect(r.status == .unprocessableContent)
            #expect(r.text.contains("public_url") && r.text.contains("data_retention_days"))
            #expect(web.deps.settings.value(.language) == nil)
            #expect(web.deps.settings.value(.publicURL) == "https://mail.example.com/")
            // The form: an empty secret keeps it; the box removes it.
            r = try await b.request("/settings", .post, form: ["group": "slack", "notifications.slack_token": "", "notifications.slack_channel": "#ops"])
            #expect(r.status == .seeOther)
            #expect(web.deps.settings.isSet(.slackToken))
            #expect(web.deps.settings.value(.slackChannel) == "#ops")
            r = try await b.request("/settings", .post, form: ["group": "slack", "notifications.slack_token": "", "clear": "notifications.slack_token"])
            #expect(!web.deps.settings.isSet(.slackToken))
            r = try await b.request("/settings", .post, form: ["group": "general", "general.data_retention_days": "abc"])
            #expect(r.status == .unprocessableContent)
            #expect(r.text.contains("Enter a whole number from 1 to 3650."))
            // Only the wrong field is marked.
            #expect(r.text.components(separatedBy: "field invalid").count == 2)
            // Stored in the workspace database.
            #expect(try web.db.setting("notifications.smtp_password") == "hunter2-secret")
        }
    }

    @Test func usersAreAddedAndDeletedOnlyWhenAllowed() async throws {
        let single = try await TestWeb()
        try await single.admin()
        try await single.test { b in
            _ = try await b.login()
            let r = try await b.request("/settings")
            #expect(!r.text.contains("id=\"users\""))
            let add = try await b.request("/settings/users", .post, form: ["name": "Bob", "email": "bob@example.org", "password": "another long passphrase here"])
            #expect(add.status == .forbidden)
        }
        let multi = try await TestWeb(multiple: true)
        try await multi.admin()
        try await multi.test { b in
            _ = try await b.login()
            var r = try await b.request("/settings")
            #expect(r.text.contains("id=\"users\""))
            r = try await b.request("/settings/users", .post, form: ["name": "Bob", "email": "bob@example.org", "password": "another long passphrase here"])
            #expect(r.status == .seeOther)
            let bob = try #require(try multi.db.user(email: "bob@example.org"))
            #expect(!bob.isAdmin)
            let bobBrowser = Browser(b.client)
            r = try await bobBrowser.login("bob@example.org", "another long passphrase here")
            #expect(r.status == .found)
            // Bob is not an administrator: no workspace settings.
            r = try await bobBrowser.request("/settings", .post, form: ["group": "general", "general.data_retention_days": "5"])
            #expect(r.status == .forbidden)
            r = try await b.request("/settings/users/\(bob.id!)/delete", .post, form: [:])
            #expect(r.status == .seeOther)
            #expect(try multi.db.user(email: "bob@example.org") == nil)
            r = try await bobBrowser.request("/settings")
            #expect(r.status == .found)
        }
    }

    @Test func logDerivedStringsAreShownAsText() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lm-xss-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = """
            Nov 25 10:00:00 mx postfix/smtpd[1]: 4AB12C0001: client=evil.example[203.0.113.9]
            Nov 25 10:00:00 mx postfix/cleanup[2]: 4AB12C0001: message-id=<x1@evil.example>
            Nov 25 10:00:00 mx postfix/qmgr[3]: 4AB12C0001: from=<"<script>alert(1)</script>"@evil.example>, size=300, nrcpt=1 (queue active)
            Nov 25 10:00:01 mx postfix/smtp[4]: 4AB12C0001: to=<victim+<img src=x onerror=alert(2)>@example.com>, relay=mx.example.com[198.51.100.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
            Nov 25 10:00:01 mx postfix/qmgr[3]: 4AB12C0001: removed

            """
        try log.write(toFile: dir + "/mail.log", atomically: true, encoding: .utf8)
        let db = try AppDatabase.open(workspace: dir + "/ws")
        let importer = try Importer(db: db, format: .default, startingYear: 2026, domains: .init())
        _ = try importer.importStream(path: dir + "/mail.log", source: "test")
        let web = try await TestWeb(db: db)
        try await web.admin()
        try await web.test { b in
            _ = try await b.login()
            let r = try await b.request("/")
            #expect(r.status == .ok)
            #expect(r.text.contains("&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;@evil.example"))
            #expect(r.text.contains("victim+&lt;img src=x onerror=alert(2)&gt;@example.com"))
            #expect(!r.text.contains("<script>alert"))
            #expect(!r.text.contains("<img src=x"))
        }
    }
}
