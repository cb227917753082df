import Auth
import Hummingbird
import HummingbirdAuth
import L10n
import Store

/// What a request carries through the middleware: who the client is (behind a proxy or not), who is
/// signed in and how, the CSRF token of its forms, and its language.
public struct AppRequestContext: AuthRequestContext, RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var identity: User?
    /// The session when signed in with the cookie; nil with a bearer token.
    public var session: SessionRecord?
    /// Signed in with `Authorization: Bearer`: no CSRF token needed.
    public var viaToken = false
    /// The socket's peer (nil: a Unix socket, or the test router).
    public let peer: String?
    public var client = ProxyPolicy.Resolved(client: "local", https: false, prefix: nil)
    /// The path the application is published under: "" or "/lightmeter".
    public var base = ""
    /// The token forms and scripts send back: the session's, else the pre-session cookie's.
    public var csrfToken = ""
    /// A pre-session CSRF cookie to set with the response (first visit to the login page).
    public var newCSRFCookie: String?
    public var localizer = Localizer.english

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peer = source.channel.remoteAddress?.ipAddress
    }
}

extension Request {
    var isAPI: Bool { uri.path.hasPrefix("/api/") }
    var isStateChanging: Bool { ![.get, .head, .options].contains(method) }
}
