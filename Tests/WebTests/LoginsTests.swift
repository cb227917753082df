import Foundation
import Hummingbird
import HummingbirdTesting
import Store
import Testing
import Tracking
@testable import Web

@Suite struct LoginsTests {
    @Test func theLoginsPageListsFailingAddressesAndBlocksAndUnblocksThem() async throws {
        let web = try await TestWeb()
        try await web.admin()
        let now = Int64(Date().timeIntervalSince1970)
        for i in 0..<3 {
            try web.db.recordAuthEvent(AuthEvent(time: now - 60 + Int64(i), ip: "203.0.113.7", user: "<script>x\(i)", proto: "imap", success: false), source: "log")
        }
        try web.db.recordAuthEvent(AuthEvent(time: now - 10, ip: "203.0.113.7", user: "alice", proto: "smtp", success: true), source: "log")
        try await web.test { b in
            _ = try await b.login()
            var r = try await b.request("/logins")
            #expect(r.status == .ok)
            #expect(r.text.contains("203.0.113.7"))
            #expect(r.text.contains("imap, smtp"))
            #expect(!r.text.contains("<script>x"))
            #expect(r.text.contains("The policy endpoint is off"))
            // The dashboard card.
            r = try await b.request("/")
            #expect(r.text.contains("id=\"dashboard-logins\""))
            #expect(r.text.contains("id=\"dash-login-failed\""))
            // Block by hand, from the list; then unblock.
            r = try await b.request("/logins/block", .post, form: ["address": "203.0.113.7"])
            #expect(r.status == .seeOther)
            #expect(try web.db.activeBlocks(now: now).map(\.cidr) == ["203.0.113.7"])
            r = try await b.request("/logins/block", .post, form: ["address": "not an address"])
            #expect(r.headers[.location]?.contains("error=address") == true)
            r = try await b.request("/logins")
            #expect(r.text.contains("id=\"blocked-list\""))
            r = try await b.request("/logins/unblock", .post, form: ["address": "203.0.113.7"])
            #expect(try web.db.activeBlocks(now: now).isEmpty)
            // The API: a network for 2 hours, listed, removed.
            let csrf: HTTPFields = [.init("X-CSRF-Token")!: b.csrf!]
            r = try await b.request("/api/v0/blocklist", .post, json: #"{"address":"198.51.100.0/24","hours":2}"#, headers: csrf)
            #expect(r.status == .ok)
            r = try await b.request("/api/v0/blocklist", .post, json: #"{"address":"nope"}"#, headers: csrf)
            #expect(r.status == .unprocessableContent)
            r = try await b.request("/api/v0/logins?days=7")
            let body = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
            #expect((body["stats"] as? [String: Any])?["failedAttempts"] as? Int == 3)
            #expect((body["stats"] as? [String: Any])?["successesAfterFailures"] as? Int == 1)
            #expect((body["blocked"] as? [[String: Any]])?.first?["cidr"] as? String == "198.51.100.0/24")
            r = try await b.request("/api/v0/blocklist?address=198.51.100.0/24", .delete, headers: csrf)
            #expect(r.status == .noContent)
            // Settings: the thresholds and the allowlist, checked.
            r = try await b.request("/settings", .post, form: ["group": "bruteforce", "bruteforce.allowlist": "192.0.2.0/24, 10.0.0.1, bogus"])
            #expect(r.status == .unprocessableContent)
            r = try await b.request("/settings", .post, form: ["group": "bruteforce", "bruteforce.allowlist": "192.0.2.0/24 10.0.0.1", "bruteforce.max_failures": "5"])
            #expect(r.status == .seeOther)
            #expect(web.deps.settings.value(.bruteforceAllowlist) == "192.0.2.0/24, 10.0.0.1")
        }
    }
}
