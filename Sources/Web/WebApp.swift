import Foundation
import Auth
import Hummingbird
import Ingest
import L10n
import Guard
import Logging
import Notify
import Store

/// What the web server needs to know, resolved from flags and environment by the executable.
public struct WebConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var version: String
    public var proxy: ProxyPolicy
    public var policy: AccountPolicy
    /// Where Debian's web libraries are (`-assets_dir`): Chart.js in `chart.js/`.
    public var assetsDir: String
    /// Where the Dovecot policy endpoint listens (`-policy_listen`), when it does: shown on the Logins page.
    public var policyListen: String?

    public init(host: String, port: Int, version: String, proxy: ProxyPolicy = ProxyPolicy(), policy: AccountPolicy = AccountPolicy(),
                assetsDir: String = "/usr/share/javascript", policyListen: String? = nil) {
        self.host = host
        self.port = port
        self.version = version
        self.proxy = proxy
        self.policy = policy
        self.assetsDir = assetsDir
        self.policyListen = policyListen
    }
}

/// The collaborators of the routes, built once.
public struct WebDependencies: Sendable {
    public var db: AppDatabase
    public var health: IngestHealth
    public var accounts: Accounts
    public var settings: SettingsStore
    public var translations: Translations
    public var pages: Pages
    /// Login, registration and logout: 20 per 5 minutes per client address.
    public var authLimiter: RateLimiter
    /// Searches of the public detective page: 20 per 10 minutes per client address.
    public var publicSearchLimiter: RateLimiter
    /// The outbox's postman: a service of the application; the settings page sends tests through it.
    public var notifier: Notifier
    /// The brute-force protection: the Logins page blocks and unblocks through it; the policy endpoint asks it.
    public var guardian: BruteForceGuard
    public var policyListen: String?
    let now: @Sendable () -> Int64

    public init(db: AppDatabase, health: IngestHealth, config: WebConfiguration, translations: Translations = .shared,
                now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) async throws {
        self.db = db
        self.health = health
        self.accounts = Accounts(db: db, policy: config.policy, now: now)
        self.translations = translations
        self.settings = try SettingsStore(db: db, languages: translations.languages)
        self.pages = try await Pages(version: config.version, assetsDir: config.assetsDir)
        self.authLimiter = RateLimiter(limit: 20, window: 300)
        self.publicSearchLimiter = RateLimiter(limit: 20, window: 600)
        let settings = self.settings
        self.notifier = Notifier(db: db, config: { NotifyConfig.load(settings.lookup) }, translations: translations, now: now)
        self.guardian = BruteForceGuard(db: db, settings: { GuardSettings.load(settings.lookup) }, now: now)
        self.policyListen = config.policyListen
        self.now = now
    }
}

/// The routes that answer without a session. Every other route is private: the tests check each
/// registered route against this list.
public enum PublicRoutes {
    public static let list: Set<String> = ["GET /healthz", "GET /login", "POST /login", "GET /register", "POST /register", "GET /static/{name}", "GET /detective", "POST /detective/escalate"]
}

/// The routes, with their middleware.
public func buildRouter(_ deps: WebDependencies, proxy: ProxyPolicy, version: String) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: SecurityHeadersMiddleware())
    router.add(middleware: ClientMiddleware(proxy: proxy, settings: deps.settings, translations: deps.translations))
    router.add(middleware: SessionAuthenticator(accounts: deps.accounts))
    router.add(middleware: LanguageMiddleware(translations: deps.translations, settings: deps.settings))
    router.add(middleware: CSRFMiddleware())

    // Public.
    HealthController(health: deps.health, version: version).addPublicRoutes(to: router)
    let auth = AuthController(accounts: deps.accounts, pages: deps.pages)
    auth.addPublicRoutes(to: router, limiter: deps.authLimiter)
    let detective = DetectiveController(db: deps.db, settings: deps.settings, pages: deps.pages, publicLimiter: deps.publicSearchLimiter)
    detective.addPublicRoutes(to: router)
    router.get("/static/:name") { _, context -> Response in
        guard let r = deps.pages.staticFile(context.parameters.get("name") ?? "") else { throw HTTPError(.notFound) }
        return r
    }

    // Private: everything else.
    let priv = router.group().add(middleware: RequireLoginMiddleware(accounts: deps.accounts))
    auth.addPrivateRoutes(to: priv, limiter: deps.authLimiter)
    HealthController(health: deps.health, version: version).addPrivateRoutes(to: priv)
    DashboardController(db: deps.db, progress: deps.health.progress, pages: deps.pages, chartAvailable: deps.pages.chartJS != nil).addRoutes(to: priv)
    priv.get("/vendor/chart.js") { _, _ -> Response in
        guard let js = deps.pages.chartJS else { throw HTTPError(.notFound, message: "Chart.js is not installed: apt install libjs-chart.js") }
        return Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "private, max-age=86400"],
                        body: .init(byteBuffer: js))
    }
    APIDocController(pages: deps.pages).addRoutes(to: priv)
    detective.addPrivateRoutes(to: priv)
    InsightsController(db: deps.db, pages: deps.pages).addRoutes(to: priv)
    LoginsController(db: deps.db, guardian: deps.guardian, pages: deps.pages, policyListen: deps.policyListen, now: deps.now).addRoutes(to: priv)
    SettingsController(accounts: deps.accounts, settings: deps.settings, translations: deps.translations, pages: deps.pages,
                       notifier: deps.notifier).addRoutes(to: priv)
    return router
}

/// The HTTP server as a service of the application's `ServiceGroup`.
public func buildApplication(_ config: WebConfiguration, deps: WebDependencies, logger: Logger,
                             onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
    let router = buildRouter(deps, proxy: config.proxy, version: config.version)
    return Application(
        router: router,
        configuration: .init(address: .hostname(config.host, port: config.port), serverName: "lightmeter"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? config.port) },
        logger: logger
    )
}

/// The language of the signed-in user, when they chose one.
struct LanguageMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let translations: Translations
    let settings: SettingsStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let own = context.identity?.language else { return try await next(request, context) }
        var context = context
        context.localizer = translations.localizer(translations.negotiate(
            acceptLanguage: request.headers[.acceptLanguage], preferred: own, fallback: settings.value(.language)))
        return try await next(request, context)
    }
}
