#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as bytes (IPv4-mapped IPv6 addresses are IPv4).
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public var bytes: [UInt8]

    public init?(_ text: Substring) { self.init(String(text)) }

    public init?(_ text: String) {
        var s = text.trimmed(" \t\"")
        if s.hasPrefix("[") {
            // [v6]:port or [v6]
            guard let end = s.firstIndex(of: "]") else { return nil }
            s = String(s[s.index(after: s.startIndex)..<end])
        } else if s.filter({ $0 == ":" }).count == 1 {
            s = String(s[..<s.firstIndex(of: ":")!]) // v4:port
        }
        if let zone = s.firstIndex(of: "%") { s = String(s[..<zone]) }
        var v4 = in_addr()
        if inet_pton(AF_INET, s, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, s, &v6) == 1 else { return nil }
        let b = withUnsafeBytes(of: &v6) { Array($0) }
        if b[0..<10].allSatisfy({ $0 == 0 }) && b[10] == 0xff && b[11] == 0xff {
            bytes = Array(b[12...])
        } else {
            bytes = b
        }
    }

    public var isLoopback: Bool {
        bytes.count == 4 ? bytes[0] == 127 : bytes == [UInt8](repeating: 0, count: 15) + [1]
    }

    public var description: String {
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var a = in6_addr()
        withUnsafeMutableBytes(of: &a) { $0.copyBytes(from: bytes) }
        inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count))
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension StringProtocol {
    func trimmed(_ set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}

/// An address block: 10.0.0.0/8, 2001:db8::/32, or one address.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    public var network: IPAddress
    public var prefix: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let a = IPAddress(String(parts[0])) else { return nil }
        let bits = a.bytes.count * 8
        if parts.count == 2 {
            guard let p = Int(parts[1]), (0...bits).contains(p) else { return nil }
            prefix = p
        } else {
            prefix = bits
        }
        network = a
    }

    public func contains(_ a: IPAddress) -> Bool {
        guard a.bytes.count == network.bytes.count else { return false }
        var left = prefix
        for i in 0..<a.bytes.count where left > 0 {
            let n = min(8, left)
            let mask: UInt8 = n == 8 ? 0xff : ~(0xff >> UInt8(n))
            if a.bytes[i] & mask != network.bytes[i] & mask { return false }
            left -= n
        }
        return true
    }

    public var description: String { "\(network)/\(prefix)" }
}

/// Who the client is, and how it reached us, when a reverse proxy may stand in front.
public struct ProxyPolicy: Sendable {
    /// `-trusted_proxies`: besides loopback, the addresses whose forwarding headers are believed.
    public var trusted: [CIDR]
    /// `-i_know_what_am_doing_not_using_a_reverse_proxy`: no proxy; forwarding headers are ignored.
    public var noProxy: Bool

    public init(trusted: [CIDR] = [], noProxy: Bool = false) {
        self.trusted = trusted
        self.noProxy = noProxy
    }

    /// Parses `-trusted_proxies` (comma-separated CIDRs or addresses).
    public static func parseTrusted(_ spec: String) -> [CIDR]? {
        var out: [CIDR] = []
        for part in spec.split(separator: ",") {
            let p = part.trimmed(" ")
            guard !p.isEmpty else { continue }
            guard let c = CIDR(p) else { return nil }
            out.append(c)
        }
        return out
    }

    public func isTrusted(_ a: IPAddress) -> Bool {
        a.isLoopback || trusted.contains { $0.contains(a) }
    }

    public struct Resolved: Sendable, Equatable {
        /// The client's address ("local" for a Unix socket peer).
        public var client: String
        /// The request reached the proxy over HTTPS.
        public var https: Bool
        /// The path under which the proxy publishes the application ("" or "/lightmeter").
        public var prefix: String?

        public init(client: String, https: Bool, prefix: String?) {
            self.client = client
            self.https = https
            self.prefix = prefix
        }
    }

    /// `peer`: the socket's remote address (nil for a Unix socket: local). Headers are read only from
    /// a trusted peer; the client is the right-most address of the chain that is not a trusted proxy.
    public func resolve(peer: String?, forwardedFor: [String], forwarded: [String], proto: String?, forwardedPrefix: String?) -> Resolved {
        let peerAddress = peer.flatMap { IPAddress($0) }
        let peerText = peerAddress?.description ?? "local"
        if noProxy { return Resolved(client: peerText, https: false, prefix: nil) }
        if let p = peerAddress, !isTrusted(p) { return Resolved(client: peerText, https: false, prefix: nil) }

        var chain: [String] = []
        var forwardedProto: String?
        if !forwarded.isEmpty {
            // RFC 7239: Forwarded: for=192.0.2.60;proto=https, for="[2001:db8::1]:4711"
            for header in forwarded {
                for element in header.split(separator: ",") {
                    for pair in element.split(separator: ";") {
                        let kv = pair.split(separator: "=", maxSplits: 1)
                        guard kv.count == 2 else { continue }
                        let key = kv[0].trimmed(" ").lowercased()
                        let value = String(kv[1]).trimmed(" \"")
                        if key == "for" { chain.append(value) }
                        if key == "proto" { forwardedProto = value.lowercased() }
                    }
                }
            }
        } else {
            for header in forwardedFor {
                chain += header.split(separator: ",").map { String($0).trimmed(" ") }
            }
        }
        var client = peerText
        for entry in chain.reversed() {
            guard let a = IPAddress(entry) else { break } // garbage: believe nothing further left
            client = a.description
            if !isTrusted(a) { break }
        }
        let scheme = (proto?.split(separator: ",").first.map { String($0).trimmed(" ").lowercased() }) ?? forwardedProto
        return Resolved(client: client, https: scheme == "https", prefix: forwardedPrefix.flatMap(Self.cleanPrefix))
    }

    /// A path prefix as a proxy may send it: "/lightmeter" (no trailing slash), or nil if unsafe.
    public static func cleanPrefix(_ raw: String) -> String? {
        var p = raw.trimmed(" ")
        while p.hasSuffix("/") { p.removeLast() }
        if p.isEmpty { return "" }
        guard p.hasPrefix("/"), !p.contains("//"), !p.contains(".."),
              p.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "/-_.~".contains($0)) }) else { return nil }
        return p
    }
}
