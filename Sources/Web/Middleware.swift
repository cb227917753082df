import Auth
import Foundation
import Hummingbird
import HummingbirdAuth
import L10n
import Store

/// Headers every response carries: no inline scripts, no framing, no sniffing, no referrer leaks.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[.contentSecurityPolicy] = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
        response.headers[.init("X-Frame-Options")!] = "DENY"
        response.headers[.init("Referrer-Policy")!] = "same-origin"
        response.headers[.xContentTypeOptions] = "nosniff"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

/// Who the client is: forwarding headers believed only from loopback or `-trusted_proxies`, never with
/// `-i_know_what_am_doing_not_using_a_reverse_proxy`. Also the path prefix and the language.
struct ClientMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let proxy: ProxyPolicy
    let settings: SettingsStore
    let translations: Translations

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let h = request.headers
        context.client = proxy.resolve(
            peer: context.peer,
            forwardedFor: h[values: .init("X-Forwarded-For")!],
            forwarded: h[values: .init("Forwarded")!],
            proto: h[.init("X-Forwarded-Proto")!],
            forwardedPrefix: h[.init("X-Forwarded-Prefix")!])
        context.base = context.client.prefix ?? settings.publicPathPrefix
        context.localizer = translations.localizer(translations.negotiate(
            acceptLanguage: h[.acceptLanguage], fallback: settings.value(.language)))
        return try await next(request, context)
    }
}

/// Signs the request in: the session cookie, or an API token in `Authorization: Bearer`.
struct SessionAuthenticator: AuthenticatorMiddleware {
    typealias Context = AppRequestContext
    let accounts: Accounts
    static let cookie = "lm_session"
    static let csrfCookie = "lm_csrf"

    func authenticate(request: Request, context: Context) async throws -> User? { nil }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let auth = request.headers[.authorization] {
            guard auth.lowercased().hasPrefix("bearer "),
                  let user = try accounts.user(token: String(auth.dropFirst(7)).trimmingCharacters(in: .whitespaces)) else {
                throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "invalid token")
            }
            context.identity = user
            context.viaToken = true
            return try await next(request, context)
        }
        if let secret = request.cookies[Self.cookie]?.value, let (session, user) = try accounts.session(secret: secret) {
            context.identity = user
            context.session = session
            context.csrfToken = session.csrfToken
        } else if let pre = request.cookies[Self.csrfCookie]?.value, pre.count >= 32, pre.count <= 64 {
            context.csrfToken = pre
        } else {
            context.csrfToken = Secret.make()
            context.newCSRFCookie = context.csrfToken
        }
        var response = try await next(request, context)
        if let token = context.newCSRFCookie, !response.headers[values: .setCookie].contains(where: { $0.hasPrefix(Self.csrfCookie + "=") }) {
            response.setCookie(Cookie(name: Self.csrfCookie, value: token, path: cookiePath(context), secure: context.client.https,
                                      httpOnly: true, sameSite: .strict))
        }
        return response
    }
}

func cookiePath(_ context: AppRequestContext) -> String { context.base.isEmpty ? "/" : context.base }

/// Every state-changing request made with cookies carries the CSRF token: the `_csrf` form field or
/// the `X-CSRF-Token` header. Requests with a bearer token need none.
struct CSRFMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.isStateChanging, !context.viaToken else { return try await next(request, context) }
        var request = request
        var sent = request.headers[.init("X-CSRF-Token")!]
        if sent == nil, request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true {
            let body = try await request.collectBody(upTo: context.maxUploadSize)
            sent = FormData(String(buffer: body))["_csrf"]
        }
        // A token made for this very response (no cookie came with the request) proves nothing.
        guard context.newCSRFCookie == nil, let sent, !context.csrfToken.isEmpty, Secret.equal(sent, context.csrfToken) else {
            throw HTTPError(.forbidden, message: "missing or wrong CSRF token; reload the page and try again")
        }
        return try await next(request, context)
    }
}

/// Private routes: 401 for the API, a redirect to the login page (or to registration on the first
/// run) for pages.
struct RequireLoginMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let accounts: Accounts

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if context.identity != nil { return try await next(request, context) }
        if request.isAPI {
            throw HTTPError(.unauthorized, headers: [.wwwAuthenticate: "Bearer"], message: "sign in or send an API token")
        }
        if try accounts.needsRegistration() {
            return .redirect(to: context.base + "/register", type: .found)
        }
        var target = context.base + "/login"
        if request.method == .get, request.uri.path != "/" {
            target += "?next=" + (request.uri.path + (request.uri.query.map { "?" + $0 } ?? "")).addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        }
        return .redirect(to: target, type: .found)
    }
}

/// At most so many requests per client address (as resolved through trusted proxies): 429 beyond.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.isStateChanging, let wait = limiter.hit(context.client.client) {
            throw HTTPError(.tooManyRequests, headers: [.retryAfter: String(wait)], message: "too many attempts; try again in \(wait) seconds")
        }
        return try await next(request, context)
    }
}

/// `application/x-www-form-urlencoded` fields (the last value of a repeated name wins; `all` has them all).
struct FormData {
    var pairs: [(String, String)] = []

    init(_ body: String) {
        for part in body.split(separator: "&") {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String {
                (String(s).replacingOccurrences(of: "+", with: " ")).removingPercentEncoding ?? ""
            }
            pairs.append((decode(kv[0]), kv.count > 1 ? decode(kv[1]) : ""))
        }
    }

    subscript(_ name: String) -> String? { pairs.last { $0.0 == name }?.1 }
    func all(_ name: String) -> [String] { pairs.filter { $0.0 == name }.map(\.1) }
}

extension Request {
    mutating func form(_ context: AppRequestContext) async throws -> FormData {
        guard headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true else {
            throw HTTPError(.unsupportedMediaType, message: "expected a form")
        }
        return FormData(String(buffer: try await collectBody(upTo: context.maxUploadSize)))
    }
}
