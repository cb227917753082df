import Auth
import Foundation
import Hummingbird
import HummingbirdTesting
import Ingest
import L10n
import Logging
import Store
import Testing
@testable import Web

/// A web application over an in-memory workspace, bcrypt made cheap.
struct TestWeb: @unchecked Sendable {
    let db: AppDatabase
    let deps: WebDependencies
    let router: Router<AppRequestContext>
    let health: IngestHealth

    init(proxy: ProxyPolicy = ProxyPolicy(), multiple: Bool = false, db: AppDatabase? = nil,
         assetsDir: String = "/usr/share/javascript") async throws {
        self.db = try db ?? AppDatabase.inMemory()
        health = IngestHealth(progress: ImportProgress())
        var policy = AccountPolicy()
        policy.bcryptCost = 4
        policy.allowMultipleUsers = multiple
        let config = WebConfiguration(host: "127.0.0.1", port: 0, version: "9.9.9", proxy: proxy, policy: policy, assetsDir: assetsDir)
        deps = try await WebDependencies(db: self.db, health: health, config: config)
        router = buildRouter(deps, proxy: proxy, version: "9.9.9")
    }

    var app: some ApplicationProtocol { Application(router: router) }

    func test(_ body: @escaping @Sendable (Browser) async throws -> Void) async throws {
        try await app.test(.router) { client in try await body(Browser(client)) }
    }

    /// Registers the administrator straight in the database.
    @discardableResult
    func admin(email: String = "ada@example.org", password: String = "correct horse battery staple") async throws -> User {
        try await deps.accounts.register(name: "Ada", email: email, password: password)
    }
}

/// A client that keeps cookies and the page's CSRF token, as a browser would.
final class Browser: @unchecked Sendable {
    let client: any TestClientProtocol
    var cookies: [String: String] = [:]
    var csrf: String?
    var extraHeaders: HTTPFields = [:]

    init(_ client: any TestClientProtocol) { self.client = client }

    @discardableResult
    func request(_ uri: String, _ method: HTTPRequest.Method = .get, form: [String: String]? = nil, json: String? = nil,
                 headers: HTTPFields = [:], withCSRF: Bool = true, cookies send: Bool = true) async throws -> TestResponse {
        var h = extraHeaders
        for f in headers { h.append(f) }
        if send, !cookies.isEmpty { h[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        var body: ByteBuffer?
        if var form {
            if withCSRF, let csrf, form["_csrf"] == nil { form["_csrf"] = csrf }
            h[.contentType] = "application/x-www-form-urlencoded"
            body = ByteBuffer(string: form.map { "\(enc($0.key))=\(enc($0.value))" }.joined(separator: "&"))
        } else if let json {
            h[.contentType] = "application/json"
            body = ByteBuffer(string: json)
        }
        let r = try await client.execute(uri: uri, method: method, headers: h, body: body)
        for c in r.headers[values: .setCookie] {
            let pair = c.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            let value = pair.count > 1 ? String(pair[1]) : ""
            if c.contains("Max-Age=0") || value.isEmpty { cookies[String(pair[0])] = nil } else { cookies[String(pair[0])] = value }
        }
        let text = String(buffer: r.body)
        if let range = text.range(of: "name=\"csrf-token\" content=\"") {
            csrf = String(text[range.upperBound...].prefix { $0 != "\"" })
        }
        return r
    }

    func enc(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
    }

    /// Opens the login page, logs in, and opens the page it is sent to (for the session's CSRF token).
    @discardableResult
    func login(_ email: String = "ada@example.org", _ password: String = "correct horse battery staple") async throws -> TestResponse {
        try await request("/login")
        let r = try await request("/login", .post, form: ["email": email, "password": password])
        if r.status == .found, let to = r.location { try await request(to) }
        return r
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var location: String? { headers[.location] }
    func cookie(_ name: String) -> String? { headers[values: .setCookie].first { $0.hasPrefix(name + "=") } }
}
