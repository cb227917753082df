import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle

/// Runs the guard's sweeps (every 30 seconds: addresses the logs show above the threshold get
/// blocked) and refreshes the external lists (at start and every hour): a `Service` of the application.
public struct GuardService: Service {
    let guardian: BruteForceGuard
    let logger: Logger

    public init(guard g: BruteForceGuard, logger: Logger = Logger(label: "guard")) {
        guardian = g
        self.logger = logger
    }

    public static func fetch(_ url: String) async throws -> String {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "lightmeter-control-center")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        guard response.status.code == 200 else { throw FetchError(url: url, status: Int(response.status.code)) }
        let body = try await response.body.collect(upTo: 64 << 20)
        return String(buffer: body)
    }

    struct FetchError: Error, CustomStringConvertible {
        var url: String
        var status: Int
        var description: String { "\(url) answered HTTP \(status)" }
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var lastRefresh = ContinuousClock.now - .seconds(7200)
            while !Task.isCancelled {
                if ContinuousClock.now - lastRefresh >= .seconds(3600) {
                    await guardian.refreshLists(fetch: Self.fetch)
                    lastRefresh = ContinuousClock.now
                    for l in guardian.lists where l.error != nil { logger.warning("blocklist \(l.source): \(l.error!)") }
                }
                do {
                    let blocked = try guardian.sweep()
                    for ip in blocked { logger.notice("blocked \(ip): too many failed logins") }
                } catch {
                    logger.error("guard: \(error)")
                }
                try await Task.sleep(for: .seconds(30))
            }
        }
    }
}
