import Foundation
import Hummingbird
import HummingbirdTesting
import Store
import Testing
@testable import Web

@Suite struct NotificationSettingsTests {
    /// A loopback port nobody listens on.
    func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    @Test func eachChannelHasItsSectionATestButtonAndItsResult() async throws {
        let web = try await TestWeb()
        try await web.admin()
        let port = try closedPort()
        try await web.test { b in
            _ = try await b.login()
            var r = try await b.request("/settings")
            for section in ["settings-notifications", "settings-slack", "settings-email", "settings-webhook"] {
                #expect(r.text.contains("id=\"\(section)\""))
            }
            // Not set up: no test button yet.
            #expect(!r.text.contains("test-webhook-form"))
            // The policy: checkboxes, by kind; the bad ones and escalations checked by default.
            #expect(r.text.contains(#"value="high_bounce_rate" checked"#))
            #expect(!r.text.contains(#"value="import_summary" checked"#))
            r = try await b.request("/settings", .post, form: ["group": "notifications", "notifications.kinds": ""])
            #expect(r.status == .seeOther)
            #expect(web.deps.settings.value(.notificationKinds) == "none")
            r = try await b.request("/settings", .post, form: ["group": "notifications", "notifications.kinds": "import_summary"])
            #expect(web.deps.settings.value(.notificationKinds) == "import_summary")
            r = try await b.request("/settings", .post, form: ["group": "notifications", "notifications.kinds": "no_such_kind"])
            #expect(r.status == .unprocessableContent)
            r = try await b.request("/settings", .post, form: ["group": "webhook", "notifications.webhook_url": "http://127.0.0.1:\(port)/hook"])
            #expect(r.status == .seeOther)
            r = try await b.request("/settings")
            #expect(r.text.contains("test-webhook-form"))
            // The test button: the failure and its reason are shown in the section.
            r = try await b.request("/settings/notifications/test", .post, form: ["channel": "webhook"])
            #expect(r.status == .seeOther)
            r = try await b.request("/settings")
            #expect(r.text.contains("The test notification failed"))
            #expect(r.text.contains("webhook: cannot reach 127.0.0.1"))
            // The same through the API.
            r = try await b.request("/api/v0/notifications/test", .post, json: #"{"channel":"webhook"}"#, headers: [.init("X-CSRF-Token")!: b.csrf!])
            let result = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
            #expect(result["ok"] as? Bool == false)
            #expect((result["error"] as? String)?.contains("cannot reach") == true)
            r = try await b.request("/api/v0/notifications")
            let channels = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [[String: Any]]
            #expect(channels.map { $0["channel"] as? String } == ["slack", "email", "webhook"])
            #expect(channels.last?["configured"] as? Bool == true)
            #expect((channels.last?["last"] as? [String: Any])?["test"] as? Bool == true)
            // The API writes the error in English; the page in its reader's language (kept as a message and its values).
            #expect(((channels.last?["last"] as? [String: Any])?["message"] as? String)?.hasPrefix("webhook: cannot reach 127.0.0.1") == true)
            r = try await b.request("/settings", headers: [.acceptLanguage: "de"])
            #expect(r.text.contains("webhook: 127.0.0.1 ist nicht erreichbar: "))
            #expect(!r.text.contains("cannot reach"))
        }
    }
}
