import Auth
import Foundation
import Guard
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Dovecot's authentication policy protocol (`auth_policy_server_url`), on an address of its own
/// (`-policy_listen`): `POST ?command=allow` is answered `{"status": S, "msg": M}` with S below 0 to
/// refuse, 0 to allow, above 0 to delay that many seconds; `POST ?command=report` records the outcome.
/// Every request must carry the API key of `auth_policy_server_api_header`.
struct PolicyController {
    let guardian: BruteForceGuard
    let apiKey: String

    func addRoutes(to router: Router<BasicRequestContext>) {
        router.post("/", use: handle)
        router.post("/**", use: handle)
    }

    @Sendable func handle(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let sent = request.headers[HTTPField.Name(PolicySecrets.header)!] ?? ""
        guard Secret.equal(sent, apiKey) else {
            context.logger.warning("policy request without the right API key")
            throw HTTPError(.unauthorized, message: "the \(PolicySecrets.header) header is missing or wrong")
        }
        let body = try await request.body.collect(upTo: 64 * 1024)
        let object = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
        func field(_ name: String) -> String? {
            // Attributes may be nested by "/" (remote/ip): take the plain name first.
            if let v = object[name] as? String { return v }
            return nil
        }
        let remote = field("remote") ?? ""
        let login = field("login")
        let proto = field("protocol") ?? "unknown"
        switch request.uri.queryParameters["command"].map(String.init) ?? "" {
        case "allow":
            let d = try guardian.decide(ip: remote)
            if d != .allow {
                context.logger.info("policy: \(d.status < 0 ? "refused" : "delayed") \(remote)", metadata: ["protocol": .string(proto)])
            }
            return try answer(status: d.status, msg: d.message)
        case "report":
            let success = (object["success"] as? Bool) ?? ((object["success"] as? String) == "true")
            let policyReject = (object["policy_reject"] as? Bool) ?? false
            // A login the policy refused is not another guess at the password.
            if !policyReject {
                try guardian.report(ip: remote, user: login, proto: proto, success: success)
            }
            return try answer(status: 0, msg: "")
        default:
            throw HTTPError(.badRequest, message: "command must be allow or report")
        }
    }

    func answer(status: Int, msg: String) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: ["status": status, "msg": msg], options: [.sortedKeys])
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// The policy endpoint as a service of the application's `ServiceGroup`.
public func buildPolicyApplication(guard g: BruteForceGuard, apiKey: String, host: String, port: Int, logger: Logger,
                                   onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
    let router = Router()
    PolicyController(guardian: g, apiKey: apiKey).addRoutes(to: router)
    return Application(router: router, configuration: .init(address: .hostname(host, port: port), serverName: "lightmeter-policy"),
                       onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) }, logger: logger)
}
