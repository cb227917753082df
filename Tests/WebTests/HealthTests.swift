import Foundation
import Hummingbird
import HummingbirdTesting
import Ingest
import Logging
import Testing
@testable import Web

@Suite struct HealthTests {
    func app(_ health: IngestHealth) -> some ApplicationProtocol {
        buildApplication(WebConfiguration(host: "127.0.0.1", port: 0, version: "9.9.9"), health: health,
                         logger: Logger(label: "test"))
    }

    @Test func healthzSaysWhetherIngestionIsAlive() async throws {
        let health = IngestHealth(progress: ImportProgress())
        try await app(health).test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: Any]
                #expect(body["status"] as? String == "failing")
            }
            health.beat()
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as! [String: Any]
                #expect(body["status"] as? String == "ok")
                #expect((body["ingestion"] as? [String: Any])?["alive"] as? Bool == true)
            }
            health.failed("disk full")
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(String(buffer: response.body).contains("disk full"))
            }
        }
    }

    @Test func appVersionAndSecurityHeadersOnEveryResponse() async throws {
        try await app(IngestHealth(progress: ImportProgress())).test(.router) { client in
            try await client.execute(uri: "/api/v0/appVersion", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("\"version\":\"9.9.9\""))
                #expect(response.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
                #expect(response.headers[.init("X-Frame-Options")!] == "DENY")
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(response.headers[.init("Referrer-Policy")!] != nil)
            }
            try await client.execute(uri: "/no/such/page", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.headers[.init("X-Frame-Options")!] == "DENY")
            }
        }
    }
}
