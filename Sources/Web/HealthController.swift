import Foundation
import Hummingbird
import Ingest

/// `/healthz` (no authentication: whether ingestion is alive) and `/api/v0/appVersion`.
struct HealthController {
    let health: IngestHealth
    let version: String

    struct Health: ResponseEncodable {
        var status: String
        var ingestion: Ingestion
        struct Ingestion: Codable {
            var alive: Bool
            var secondsSinceLastPass: Double?
            var error: String?
            var lines: Int64
            var filesDone: Int
            var filesTotal: Int
        }
    }

    struct AppVersion: ResponseEncodable {
        var version: String
    }

    func addPublicRoutes(to router: some RouterMethods<AppRequestContext>) {
        router.get("/healthz") { _, _ -> Response in
            let s = health.status()
            let p = health.progress.snapshot
            let body = Health(status: s.alive ? "ok" : "failing",
                              ingestion: .init(alive: s.alive, secondsSinceLastPass: s.secondsSinceBeat.map { ($0 * 10).rounded() / 10 },
                                               error: s.failure, lines: p.lines, filesDone: p.filesDone, filesTotal: p.filesTotal))
            let data = try JSONEncoder().encode(body)
            return Response(status: s.alive ? .ok : .serviceUnavailable,
                            headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
    }

    func addPrivateRoutes(to router: some RouterMethods<AppRequestContext>) {
        router.get("/api/v0/appVersion") { _, _ in
            AppVersion(version: version)
        }
    }
}
