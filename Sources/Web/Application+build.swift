import Hummingbird
import Ingest
import Logging

/// What the web server needs to know, resolved from flags and environment by the executable.
public struct WebConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var version: String

    public init(host: String, port: Int, version: String) {
        self.host = host
        self.port = port
        self.version = version
    }
}

/// The routes, with their middleware.
public func buildRouter(health: IngestHealth, version: String) -> Router<BasicRequestContext> {
    let router = Router()
    router.add(middleware: SecurityHeadersMiddleware())
    HealthController(health: health, version: version).addRoutes(to: router)
    return router
}

/// The HTTP server as a service of the application's `ServiceGroup`.
public func buildApplication(_ config: WebConfiguration, health: IngestHealth, logger: Logger,
                             onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
    let router = buildRouter(health: health, version: config.version)
    return Application(
        router: router,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "lightmeter"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? config.port) },
        logger: logger
    )
}
