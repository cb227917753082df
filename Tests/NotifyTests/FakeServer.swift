import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// A real HTTP server on loopback that records what it is sent and answers as a script says: it plays
/// Slack's Web API or a webhook receiver.
final class FakeServer: @unchecked Sendable {
    struct Received: Sendable {
        var path: String
        var headers: [String: String]
        var body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    }

    struct Answer: Sendable {
        var status: HTTPResponse.Status = .ok
        var headers: [String: String] = [:]
        var body: String = ""
    }

    private let lock = NSLock()
    private var received: [Received] = []
    private var script: @Sendable (Received, Int) -> Answer
    private var task: Task<Void, any Error>?
    private(set) var port = 0

    init(_ script: @escaping @Sendable (Received, Int) -> Answer) {
        self.script = script
    }

    var requests: [Received] { lock.withLock { received } }

    func setScript(_ s: @escaping @Sendable (Received, Int) -> Answer) { lock.withLock { script = s } }

    func start() async throws {
        let router = Router()
        let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for f in request.headers { headers[f.name.canonicalName] = f.value }
            let r = Received(path: request.uri.path, headers: headers, body: String(buffer: buffer))
            let (answer, _) = self.lock.withLock { () -> (Answer, Int) in
                self.received.append(r)
                let n = self.received.count
                return (self.script(r, n), n)
            }
            var h = HTTPFields()
            for (k, v) in answer.headers { h[HTTPField.Name(k)!] = v }
            return Response(status: answer.status, headers: h, body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        router.post("/api/chat.postMessage", use: handler)
        router.post("/hook", use: handler)
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) })
        task = Task { try await app.runService(gracefulShutdownSignals: []) }
        for await p in stream {
            port = p
            break
        }
    }

    func stop() async {
        task?.cancel()
        _ = try? await task?.value
    }

    var base: String { "http://127.0.0.1:\(port)" }
}
