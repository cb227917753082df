import Auth
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import Web

@Suite struct AuthFlowTests {
    /// Every registered route that is not in the public list answers 401 (API) or sends to the login
    /// page, without a session: a new route cannot slip past.
    @Test func everyPrivateRouteNeedsASession() async throws {
        let web = try await TestWeb()
        try await web.admin()
        let routes = web.router.routes.map { (method: $0.method, path: $0.path.description) }
        #expect(routes.count >= 20)
        let registered = Set(routes.map { "\($0.method) \($0.path)" })
        #expect(PublicRoutes.list.isSubset(of: registered), "the public list names a route that does not exist")
        try await web.test { b in
            try await b.request("/login") // a CSRF cookie and token, so that POSTs reach the route's guard
            for route in routes where !PublicRoutes.list.contains("\(route.method) \(route.path)") {
                let uri = route.path.split(separator: "/").map { $0.hasPrefix("{") ? "1" : String($0) }.joined(separator: "/")
                let r = try await b.request(uri.isEmpty ? "/" : uri, route.method, headers: [.init("X-CSRF-Token")!: b.csrf ?? ""])
                if uri.hasPrefix("/api/") {
                    #expect(r.status == .unauthorized, "\(route) answered \(r.status)")
                } else {
                    #expect(r.status == .found, "\(route) answered \(r.status)")
                    #expect(r.location?.hasPrefix("/login") == true, "\(route) sent to \(r.location ?? "nowhere")")
                }
            }
        }
    }

    @Test func theFirstVisitRegistersTheAdministrator() async throws {
        let web = try await TestWeb()
        try await web.test { b in
            var r = try await b.request("/")
            #expect(r.status == .found && r.location == "/register")
            r = try await b.request("/login")
            #expect(r.location == "/register")
            r = try await b.request("/register")
            #expect(r.status == .ok)
            #expect(r.text.contains("name=\"password\""))
            // No CSRF token: refused.
            r = try await b.request("/register", .post, form: ["name": "Ada", "email": "ada@example.org", "password": "correct horse battery staple"], withCSRF: false)
            #expect(r.status == .forbidden)
            // A weak password: refused, with the reason.
            r = try await b.request("/register", .post, form: ["name": "Ada", "email": "ada@example.org", "password": "Password123"])
            #expect(r.status == .unprocessableContent)
            #expect(r.text.contains("common password"))
            #expect(try web.db.userCount() == 0)
            r = try await b.request("/register", .post, form: ["name": "Ada", "email": "ada@example.org", "password": "correct horse battery staple"])
            #expect(r.status == .found && r.location == "/")
            let cookie = try #require(r.cookie("lm_session"))
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("SameSite=Strict"))
            #expect(cookie.contains("Path=/"))
            #expect(cookie.contains("Max-Age=604800"))
            #expect(!cookie.contains("Secure"))
            r = try await b.request("/")
            #expect(r.status == .ok)
            #expect(r.text.contains("Log out"))
            // Registration is closed now.
            r = try await b.request("/register")
            #expect(r.location == "/login")
            let other = Browser(b.client)
            try await other.request("/login")
            r = try await other.request("/register", .post, form: ["name": "Eve", "email": "eve@example.org", "password": "another long passphrase here"])
            #expect(r.location == "/login")
            #expect(try web.db.userCount() == 1)
        }
    }

    @Test func loginLogoutAndANewSessionIdAtEachLogin() async throws {
        let web = try await TestWeb()
        try await web.admin()
        try await web.test { b in
            var r = try await b.request("/settings")
            #expect(r.location == "/login?next=%2Fsettings")
            r = try await b.request("/login?next=/settings")
            r = try await b.request("/login", .post, form: ["email": "ada@example.org", "password": "wrong", "next": "/settings"])
            #expect(r.status == .unauthorized)
            #expect(r.text.contains("Wrong e-mail address or password."))
            r = try await b.request("/login", .post, form: ["email": "ada@example.org", "password": "correct horse battery staple", "next": "/settings"])
            #expect(r.status == .found && r.location == "/settings")
            let first = try #require(b.cookies["lm_session"])
            try await b.request("/settings")
            // Logging in again replaces the session: the old id is dead.
            r = try await b.request("/login", .post, form: ["email": "ada@example.org", "password": "correct horse battery staple", "next": "//evil.example"])
            #expect(r.location == "/")
            let second = try #require(b.cookies["lm_session"])
            #expect(first != second)
            #expect(try web.deps.accounts.session(secret: first) == nil)
            r = try await b.request("/settings")
            #expect(r.status == .ok)
            r = try await b.request("/logout", .post, form: [:])
            #expect(r.status == .found && r.location == "/login")
            #expect(r.cookie("lm_session")?.contains("Max-Age=0") == true)
            #expect(try web.deps.accounts.session(secret: second) == nil)
            b.cookies["lm_session"] = second
            r = try await b.request("/settings")
            #expect(r.status == .found)
        }
    }

    @Test func csrfTokensGuardEveryStateChangeMadeWithCookies() async throws {
        let web = try await TestWeb()
        try await web.admin()
        try await web.test { b in
            _ = try await b.login()
            try await b.request("/settings")
            let good = try #require(b.csrf)
            var r = try await b.request("/settings/tokens", .post, form: ["name": "x"], withCSRF: false)
            #expect(r.status == .forbidden)
            r = try await b.request("/settings/tokens", .post, form: ["name": "x", "_csrf": "wrong" + good])
            #expect(r.status == .forbidden)
            r = try await b.request("/api/v0/tokens", .post, json: "{\"name\":\"x\"}")
            #expect(r.status == .forbidden)
            r = try await b.request("/api/v0/tokens", .post, json: "{\"name\":\"x\"}", headers: [.init("X-CSRF-Token")!: good])
            #expect(r.status == .created)
            r = try await b.request("/settings/tokens", .post, form: ["name": "y"])
            #expect(r.status == .ok)
            #expect(try web.db.tokens(userID: 1).count == 2)
            // The login form is guarded too (login CSRF): a POST with no cookie proves nothing.
            let stranger = Browser(b.client)
            r = try await stranger.request("/login", .post, form: ["email": "ada@example.org", "password": "correct horse battery staple", "_csrf": good])
            #expect(r.status == .forbidden)
        }
    }

    @Test func apiTokensNeedNoCSRFAndCanBeRevoked() async throws {
        let web = try await TestWeb()
        let admin = try await web.admin()
        let (secret, token) = try web.deps.accounts.createToken(for: admin, name: "script")
        try await web.test { b in
            let bearer: HTTPFields = [.authorization: "Bearer " + secret]
            var r = try await b.request("/api/v0/settings", headers: bearer)
            #expect(r.status == .ok)
            r = try await b.request("/api/v0/settings", .post, json: #"{"general": {"data_retention_days": 30}}"#, headers: bearer)
            #expect(r.status == .ok)
            #expect(web.deps.settings.value(.dataRetentionDays) == "30")
            r = try await b.request("/api/v0/user", headers: [.authorization: "Bearer lmt_forged"])
            #expect(r.status == .unauthorized)
            #expect(try web.db.deleteToken(id: token.id!, userID: admin.id!))
            r = try await b.request("/api/v0/user", headers: bearer)
            #expect(r.status == .unauthorized)
        }
    }

    @Test func rateLimitsCountClientsNotWhatTheyClaim() async throws {
        // Behind a trusted proxy: each client has its own budget.
        let proxied = try await TestWeb()
        try await proxied.admin()
        try await proxied.test { b in
            try await b.request("/login")
            b.extraHeaders = [.init("X-Forwarded-For")!: "203.0.113.5"]
            for _ in 0..<20 {
                let r = try await b.request("/login", .post, form: ["email": "nobody@example.org", "password": "x"])
                #expect(r.status == .unauthorized)
            }
            var r = try await b.request("/login", .post, form: ["email": "nobody@example.org", "password": "x"])
            #expect(r.status == .tooManyRequests)
            let wait = try #require(r.headers[.retryAfter].flatMap { Int($0) })
            #expect(wait > 0 && wait <= 300)
            b.extraHeaders = [.init("X-Forwarded-For")!: "203.0.113.6"]
            r = try await b.request("/login", .post, form: ["email": "nobody@example.org", "password": "x"])
            #expect(r.status == .unauthorized)
        }
        // With no proxy in front, the header is ignored: changing it does not buy more attempts.
        let direct = try await TestWeb(proxy: ProxyPolicy(noProxy: true))
        try await direct.admin()
        try await direct.test { b in
            try await b.request("/login")
            for i in 0..<20 {
                b.extraHeaders = [.init("X-Forwarded-For")!: "198.51.100.\(i)"]
                _ = try await b.request("/login", .post, form: ["email": "nobody@example.org", "password": "x"])
            }
            b.extraHeaders = [.init("X-Forwarded-For")!: "198.51.100.99"]
            let r = try await b.request("/login", .post, form: ["email": "nobody@example.org", "password": "x"])
            #expect(r.status == .tooManyRequests)
        }
    }

    @Test func anAccountWaitsAfterRepeatedFailures() async throws {
        let web = try await TestWeb()
        try await web.admin()
        try await web.test { b in
            try await b.request("/login")
            for _ in 0..<5 { _ = try await b.request("/login", .post, form: ["email": "ada@example.org", "password": "guess"]) }
            let r = try await b.request("/login", .post, form: ["email": "ada@example.org", "password": "correct horse battery staple"])
            #expect(r.status == .tooManyRequests)
            let wait = try #require(r.headers[.retryAfter].flatMap { Int($0) })
            #expect(wait > 0 && wait <= 30)
            #expect(b.cookies["lm_session"] == nil)
        }
    }

    @Test func behindAProxyCookiesAndLinksFollowTheSchemeAndThePrefix() async throws {
        let web = try await TestWeb()
        try await web.test { b in
            b.extraHeaders = [.init("X-Forwarded-Proto")!: "https", .init("X-Forwarded-Prefix")!: "/lightmeter/"]
            var r = try await b.request("/")
            #expect(r.location == "/lightmeter/register")
            #expect(r.cookie("lm_csrf")?.contains("Path=/lightmeter") == true)
            #expect(r.cookie("lm_csrf")?.contains("Secure") == true)
            r = try await b.request("/register")
            #expect(r.text.contains("href=\"/lightmeter/static/app.css\""))
            #expect(r.text.contains("action=\"/lightmeter/register\""))
            r = try await b.request("/register", .post, form: ["name": "Ada", "email": "ada@example.org", "password": "correct horse battery staple"])
            #expect(r.location == "/lightmeter/")
            let cookie = try #require(r.cookie("lm_session"))
            #expect(cookie.contains("Secure") && cookie.contains("Path=/lightmeter") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
        }
        // The same headers from a client when no proxy is declared: ignored.
        let direct = try await TestWeb(proxy: ProxyPolicy(noProxy: true))
        try await direct.test { b in
            b.extraHeaders = [.init("X-Forwarded-Proto")!: "https", .init("X-Forwarded-Prefix")!: "/lightmeter/"]
            let r = try await b.request("/")
            #expect(r.location == "/register")
            #expect(r.cookie("lm_csrf")?.contains("Secure") == false)
            #expect(r.cookie("lm_csrf")?.contains("Path=/lightmeter") == false)
        }
        // The public URL setting gives the prefix when no proxy sends one.
        let configured = try await TestWeb()
        try configured.deps.settings.update(["general.public_url": "https://mail.example.com/cc/"])
        try await configured.test { b in
            let r = try await b.request("/")
            #expect(r.location == "/cc/register")
        }
    }
}
