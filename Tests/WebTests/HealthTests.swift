import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import Web

@Suite struct HealthTests {
    @Test func healthzSaysWhetherIngestionIsAliveWithoutAuthentication() async throws {
        let web = try await TestWeb()
        let health = web.health
        try await web.test { b in
            var r = try await b.request("/healthz")
            #expect(r.status == .serviceUnavailable)
            var body = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
            #expect(body["status"] as? String == "failing")
            health.beat()
            r = try await b.request("/healthz")
            #expect(r.status == .ok)
            body = try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as! [String: Any]
            #expect((body["ingestion"] as? [String: Any])?["alive"] as? Bool == true)
            health.failed("disk full")
            r = try await b.request("/healthz")
            #expect(r.status == .serviceUnavailable)
            #expect(r.text.contains("disk full"))
        }
    }

    @Test func appVersionAndSecurityHeadersOnEveryResponse() async throws {
        let web = try await TestWeb()
        try await web.admin()
        try await web.test { b in
            var r = try await b.request("/api/v0/appVersion")
            #expect(r.status == .unauthorized)
            #expect(r.headers[.init("X-Frame-Options")!] == "DENY")
            try await b.login()
            r = try await b.request("/api/v0/appVersion")
            #expect(r.status == .ok)
            #expect(r.text.contains("\"version\":\"9.9.9\""))
            for response in [r, try await b.request("/no/such/page"), try await b.request("/login")] {
                #expect(response.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
                #expect(response.headers[.contentSecurityPolicy]?.contains("unsafe-inline") == false)
                #expect(response.headers[.init("X-Frame-Options")!] == "DENY")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(response.headers[.init("Referrer-Policy")!] == "same-origin")
            }
        }
    }
}
