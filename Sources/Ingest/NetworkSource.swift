import NIOCore
import NIOPosix

/// Where a network source listens: `tcp=HOST:PORT` (host optional), `unix=/path`, `udp=HOST:PORT`;
/// the Go original's `tcp;...` and `unix;...` spellings are accepted too.
public enum ListenAddress: Sendable, Equatable {
    case tcp(host: String, port: Int)
    case udp(host: String, port: Int)
    case unix(path: String)

    public var isStream: Bool {
        if case .udp = self { return false }
        return true
    }

    public init?(_ spec: String) {
        guard let sep = spec.firstIndex(where: { $0 == "=" || $0 == ";" }) else { return nil }
        let kind = spec[..<sep].lowercased()
        let value = String(spec[spec.index(after: sep)...])
        switch kind {
        case "unix":
            guard !value.isEmpty else { return nil }
            self = .unix(path: value)
        case "tcp", "udp":
            guard let colon = value.lastIndex(of: ":"), let port = Int(value[value.index(after: colon)...]),
                  (0...65535).contains(port) else { return nil }
            var host = String(value[..<colon])
            if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            if host.isEmpty { host = "0.0.0.0" }
            self = kind == "tcp" ? .tcp(host: host, port: port) : .udp(host: host, port: port)
        default:
            return nil
        }
    }
}

/// Listens on sockets and puts every line (or syslog message, turned into a line) into a queue.
public final class NetworkSource: @unchecked Sendable {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let queue: LineQueue
    private var channels: [any Channel] = []

    public init(queue: LineQueue) {
        self.queue = queue
    }

    /// Starts listening; returns the port bound (for `:0`), or 0 for unix sockets.
    @discardableResult
    public func listen(_ address: ListenAddress, syslog: Bool) throws -> Int {
        let queue = self.queue
        switch address {
        case .tcp, .unix:
            let bootstrap = ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 64)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if syslog {
                            try channel.pipeline.syncOperations.addHandler(SyslogStreamHandler(queue: queue))
                        } else {
                            try channel.pipeline.syncOperations.addHandler(LineHandler(queue: queue))
                        }
                    }
                }
            let channel: any Channel
            if case .tcp(let host, let port) = address {
                channel = try bootstrap.bind(host: host, port: port).wait()
            } else if case .unix(let path) = address {
                channel = try bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).wait()
            } else {
                fatalError("unreachable")
            }
            channels.append(channel)
            return channel.localAddress?.port ?? 0
        case .udp(let host, let port):
            let channel = try DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(SyslogDatagramHandler(queue: queue, syslog: syslog))
                    }
                }
                .bind(host: host, port: port).wait()
            channels.append(channel)
            return channel.localAddress?.port ?? 0
        }
    }

    /// Stops listening, then closes the queue once what was received is in it.
    public func close() {
        guard !closed else { return }
        closed = true
        for c in channels { try? c.close().wait() }
        channels.removeAll()
        try? group.syncShutdownGracefully()
        queue.close()
    }

    private var closed = false
}

/// Newline-framed lines.
final class LineHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let queue: LineQueue
    var pending: [UInt8] = []
    let maxLine = 64 * 1024

    init(queue: LineQueue) { self.queue = queue }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { bytes in
            var start = 0
            for (i, b) in bytes.enumerated() where b == 0x0A {
                pending.append(contentsOf: bytes[start..<i])
                emit()
                start = i + 1
            }
            pending.append(contentsOf: bytes[start...])
            if pending.count > maxLine * 2 { emit() }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !pending.isEmpty { emit() }
        context.fireChannelInactive()
    }

    private func emit() {
        if pending.last == 0x0D { pending.removeLast() }
        if !pending.isEmpty { queue.put(Array(pending.prefix(maxLine))) }
        pending.removeAll(keepingCapacity: true)
    }
}

/// Syslog over a stream: octet counting or newline framing.
final class SyslogStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let queue: LineQueue
    var framer = SyslogFramer()

    init(queue: LineQueue) { self.queue = queue }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        let queue = self.queue
        buffer.withUnsafeReadableBytes { bytes in
            framer.feed(bytes) { message in queue.put(Syslog.line(from: message)) }
        }
    }
}

/// One message per datagram.
final class SyslogDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let queue: LineQueue
    let syslog: Bool

    init(queue: LineQueue, syslog: Bool) {
        self.queue = queue
        self.syslog = syslog
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = Array(envelope.data.readableBytesView)
        if syslog {
            queue.put(Syslog.line(from: bytes))
        } else {
            for line in bytes.split(separator: 0x0A) where !line.isEmpty { queue.put(Array(line)) }
        }
    }
}
