import Auth
import Foundation
import Hummingbird
import Store

/// Registration of the first administrator, login and logout.
struct AuthController {
    let accounts: Accounts
    let pages: Pages

    func addPublicRoutes(to router: some RouterMethods<AppRequestContext>, limiter: RateLimiter) {
        router.get("/login", use: loginPage)
        router.get("/register", use: registerPage)
        let limited = router.group().add(middleware: RateLimitMiddleware(limiter: limiter))
        limited.post("/login", use: login)
        limited.post("/register", use: register)
    }

    func addPrivateRoutes(to router: some RouterMethods<AppRequestContext>, limiter: RateLimiter) {
        router.group().add(middleware: RateLimitMiddleware(limiter: limiter)).post("/logout", use: logout)
    }

    @Sendable func loginPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        if context.identity != nil { return .redirect(to: context.base + "/", type: .found) }
        if try accounts.needsRegistration() { return .redirect(to: context.base + "/register", type: .found) }
        return pages.render("login", ["next": safeNext(request.uri.queryParameters["next"].map(String.init)) ?? ""], context: context)
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let form = try await request.form(context)
        let email = form["email"] ?? ""
        let next = safeNext(form["next"])
        let l = context.localizer
        switch try await accounts.login(email: email, password: form["password"] ?? "") {
        case .success(let user):
            if let old = context.session { try accounts.endSession(old) }
            let session = try accounts.startSession(for: user)
            var response = Response.redirect(to: context.base + (next ?? "/"), type: .found)
            response.setCookie(sessionCookie(session.secret, context: context, maxAge: Int(accounts.policy.sessionLifetime)))
            context.logger.info("login", metadata: ["user": .stringConvertible(user.id ?? 0), "client": .string(context.client.client)])
            return response
        case .invalid:
            context.logger.notice("failed login", metadata: ["client": .string(context.client.client)])
            return pages.render("login", ["email": email, "next": next ?? "", "error": l.t("Wrong e-mail address or password.")],
                                context: context, status: .unauthorized)
        case .delayed(let wait):
            var r = pages.render("login", ["email": email, "next": next ?? "",
                                           "error": l.t("Too many failed logins for this account. Try again in {{seconds}} seconds.", ["seconds": String(wait)])],
                                 context: context, status: .tooManyRequests)
            r.headers[.retryAfter] = String(wait)
            return r
        }
    }

    @Sendable func registerPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        if try !accounts.needsRegistration() { return .redirect(to: context.base + "/login", type: .found) }
        return pages.render("register", [:], context: context)
    }

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let form = try await request.form(context)
        let name = form["name"] ?? "", email = form["email"] ?? ""
        do {
            let user = try await accounts.register(name: name, email: email, password: form["password"] ?? "")
            let session = try accounts.startSession(for: user)
            var response = Response.redirect(to: context.base + "/", type: .found)
            response.setCookie(sessionCookie(session.secret, context: context, maxAge: Int(accounts.policy.sessionLifetime)))
            context.logger.info("administrator registered", metadata: ["user": .stringConvertible(user.id ?? 0)])
            return response
        } catch AccountError.alreadyRegistered {
            return .redirect(to: context.base + "/login", type: .found)
        } catch let e as AccountError {
            return pages.render("register", ["name": name, "email": email, "error": context.localizer.t(e.description)],
                                context: context, status: .unprocessableContent)
        }
    }

    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let s = context.session { try accounts.endSession(s) }
        var response = Response.redirect(to: context.base + "/login", type: .found)
        response.setCookie(sessionCookie("", context: context, maxAge: 0))
        return response
    }

    /// Only a path of this site: "/x", never "//host" or "https://...".
    func safeNext(_ s: String?) -> String? {
        guard let s, s.hasPrefix("/"), !s.hasPrefix("//"), !s.hasPrefix("/\\"),
              !s.contains(where: { $0.isNewline || $0 == "\\" }) else { return nil }
        return s
    }
}

/// The session cookie: HttpOnly, SameSite=Strict, Secure when the client came over HTTPS, scoped to
/// the path the application is published under.
func sessionCookie(_ secret: String, context: AppRequestContext, maxAge: Int) -> Cookie {
    Cookie(name: SessionAuthenticator.cookie, value: secret, maxAge: maxAge, path: cookiePath(context),
           secure: context.client.https, httpOnly: true, sameSite: .strict)
}
