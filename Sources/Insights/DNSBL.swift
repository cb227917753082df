import Foundation
import Store

/// A small DNS client for blocklist lookups: an A query over UDP to the system's name servers (those of
/// /etc/resolv.conf; LIGHTMETER_DNS_RESOLVER=HOST:PORT names another, for tests), with a timeout per
/// try. DNSBLs answer 127.0.0.x for a listed address and NXDOMAIN for the rest.
public struct DNSResolver: Sendable {
    public enum Answer: Sendable, Equatable {
        case addresses([String])
        case notFound
    }

    public struct Failure: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public var servers: [(host: String, port: UInt16)]
    public var timeout: Double = 2
    public var tries = 2

    public init(servers: [(host: String, port: UInt16)], timeout: Double = 2) {
        self.servers = servers
        self.timeout = timeout
    }

    /// The system's resolver configuration, or the override of the environment.
    public static func system(environment: [String: String] = ProcessInfo.processInfo.environment) -> DNSResolver {
        if let spec = environment["LIGHTMETER_DNS_RESOLVER"], let colon = spec.lastIndex(of: ":"),
           let port = UInt16(spec[spec.index(after: colon)...]) {
            return DNSResolver(servers: [(String(spec[..<colon]), port)])
        }
        var servers: [(String, UInt16)] = []
        let conf = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
        for line in conf.split(separator: "\n") {
            let parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if parts.count >= 2, parts[0] == "nameserver", !parts[1].contains(":") { servers.append((String(parts[1]), 53)) }
        }
        return DNSResolver(servers: servers.isEmpty ? [("127.0.0.1", 53)] : servers)
    }

    static func query(_ name: String, id: UInt16) -> [UInt8] {
        var q: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        for label in name.split(separator: ".") {
            let bytes = Array(label.utf8.prefix(63))
            q.append(UInt8(bytes.count))
            q += bytes
        }
        q += [0, 0, 1, 0, 1]
        return q
    }

    /// Skips a (possibly compressed) name at `i`.
    static func skipName(_ b: [UInt8], _ i: inout Int) -> Bool {
        while i < b.count {
            let len = Int(b[i])
            if len == 0 { i += 1; return true }
            if len & 0xC0 == 0xC0 { i += 2; return i <= b.count }
            i += 1 + len
        }
        return false
    }

    static func parse(_ b: [UInt8], id: UInt16) -> Answer? {
        guard b.count >= 12, UInt16(b[0]) << 8 | UInt16(b[1]) == id, b[2] & 0x80 != 0 else { return nil }
        let rcode = b[3] & 0x0F
        if rcode == 3 { return .notFound }
        guard rcode == 0 else { return nil }
        let qd = Int(b[4]) << 8 | Int(b[5]), an = Int(b[6]) << 8 | Int(b[7])
        var i = 12
        for _ in 0..<qd {
            guard skipName(b, &i) else { return nil }
            i += 4
        }
        var out: [String] = []
        for _ in 0..<an {
            guard skipName(b, &i), i + 10 <= b.count else { return nil }
            let type = Int(b[i]) << 8 | Int(b[i + 1])
            let len = Int(b[i + 8]) << 8 | Int(b[i + 9])
            i += 10
            guard i + len <= b.count else { return nil }
            if type == 1, len == 4 { out.append(b[i..<i + 4].map(String.init).joined(separator: ".")) }
            i += len
        }
        return out.isEmpty ? .notFound : .addresses(out)
    }

    /// The A records of `name`; throws when no server answered in time.
    public func lookupA(_ name: String) throws -> Answer {
        var lastError = "no name server"
        for _ in 0..<tries {
            for s in servers {
                let id = UInt16.random(in: 1...UInt16.max)
                let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
                guard fd >= 0 else { throw Failure(description: "socket: \(errno)") }
                defer { close(fd) }
                var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                var addr = sockaddr_in()
                addr.sin_family = sa_family_t(AF_INET)
                addr.sin_port = s.port.bigEndian
                guard inet_pton(AF_INET, s.host, &addr.sin_addr) == 1 else { lastError = "bad server \(s.host)"; continue }
                let q = Self.query(name, id: id)
                let sent = withUnsafePointer(to: &addr) { p in
                    p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, q, q.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard sent == q.count else { lastError = "send to \(s.host): \(errno)"; continue }
                let deadline = Date().addingTimeInterval(timeout)
                var buf = [UInt8](repeating: 0, count: 1500)
                while Date() < deadline {
                    let n = recv(fd, &buf, buf.count, 0)
                    if n <= 0 { break }
                    if let a = Self.parse(Array(buf[0..<n]), id: id) { return a }
                }
                lastError = "\(s.host):\(s.port) did not answer within \(timeout) s"
            }
        }
        throw Failure(description: lastError)
    }
}

/// The server's IP on DNS blocklists: the Postfix public IP of the settings looked up in each DNSBL
/// every 3 hours. One insight a day while listed; another when the listing ends.
public struct DNSBLListed: Detector {
    public let kind = "dnsbl_listed"
    public let interval: Int64 = 3 * 3600
    /// A lookup tells the present, not the past.
    public let historical = false
    let resolver: @Sendable () -> DNSResolver

    public init(resolver: @escaping @Sendable () -> DNSResolver = { DNSResolver.system() }) {
        self.resolver = resolver
    }

    /// `192.0.2.25` → `25.2.0.192`; nil for anything but IPv4.
    static func reversed(_ ip: String) -> String? {
        let parts = ip.split(separator: ".")
        guard parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) else { return nil }
        return parts.reversed().joined(separator: ".")
    }

    public func detect(at now: Int64, db: AppDatabase, settings s: DetectorSettings) throws -> [Insight] {
        guard let ip = s.publicIP, let rev = Self.reversed(ip) else { return [] }
        let r = resolver()
        var out: [Insight] = []
        for zone in s.dnsbls {
            let stateKey = "dnsbl_state.\(zone).\(ip)"
            let answer: DNSResolver.Answer
            do {
                answer = try r.lookupA(rev + "." + zone)
            } catch {
                // No answer in time: nothing is known; try again next round.
                continue
            }
            let codes: [String]
            switch answer {
            case .addresses(let a):
                // 127.255.255.x: the list refuses the query (an open resolver, a quota), not a listing.
                codes = a.filter { $0.hasPrefix("127.") && !$0.hasPrefix("127.255.255.") }
            case .notFound:
                codes = []
            }
            let was = try db.meta(stateKey) == "listed"
            if !codes.isEmpty {
                if try !db.hasInsight(kind: kind, keyPrefix: "\(kind):\(zone):\(ip):", since: now - 86400 + 60) {
                    out.append(Insight(time: now, kind: kind, category: "local", rating: "bad",
                                       title: "This server's IP \(ip) is listed on \(zone)",
                                       details: ["ip": ip, "dnsbl": zone, "codes": codes.joined(separator: " ")],
                                       key: "\(kind):\(zone):\(ip):\(now / 86400)"))
                }
                if !was { try db.setMeta(stateKey, "listed") }
            } else if was {
                try db.setMeta(stateKey, "clear")
                out.append(Insight(time: now, kind: "dnsbl_delisted", category: "local", rating: "ok",
                                   title: "This server's IP \(ip) is no longer listed on \(zone)",
                                   details: ["ip": ip, "dnsbl": zone], key: "dnsbl_delisted:\(zone):\(ip):\(now)"))
            }
        }
        return out
    }
}
