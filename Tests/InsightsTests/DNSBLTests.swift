import Foundation
import Store
import Testing
@testable import Insights

/// A DNS server on loopback (UDP) that plays DNSBLs: `listed.example` lists everything (127.0.0.2),
/// `clean.example` nothing (NXDOMAIN), `refused.example` refuses (127.255.255.254), `silent.example`
/// never answers. Never the internet.
final class FakeDNS: @unchecked Sendable {
    let fd: Int32
    let port: UInt16
    private let lock = NSLock()
    private var names: [String] = []
    private var listed = true

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        self.fd = fd
        self.port = UInt16(bigEndian: addr.sin_port)
        Thread { self.serve() }.start()
    }

    var queries: [String] { lock.withLock { names } }
    func setListed(_ v: Bool) { lock.withLock { listed = v } }
    var stopped = false

    func serve() {
        var buf = [UInt8](repeating: 0, count: 512)
        while !lock.withLock({ stopped }) {
            var from = sockaddr_in()
            var fl = socklen_t(MemoryLayout<sockaddr_in>.size)
            let n = withUnsafeMutablePointer(to: &from) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buf, buf.count, 0, $0, &fl) } }
            guard n > 12 else { continue }
            var i = 12
            var labels: [String] = []
            while i < n, buf[i] != 0 {
                let l = Int(buf[i])
                labels.append(String(decoding: buf[(i + 1)..<(i + 1 + l)], as: UTF8.self))
                i += 1 + l
            }
            let qEnd = i + 5
            let name = labels.joined(separator: ".")
            let isListed = lock.withLock { names.append(name); return listed }
            if name.hasSuffix("silent.example") { continue }
            var r = Array(buf[0..<qEnd])
            r[2] = 0x81
            var answer: [UInt8]? = nil
            if name.hasSuffix("listed.example") && isListed { answer = [127, 0, 0, 2] }
            if name.hasSuffix("refused.example") { answer = [127, 255, 255, 254] }
            if let a = answer {
                r[3] = 0x80
                r[7] = 1
                r += [0xC0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4] + a
            } else {
                r[3] = 0x83 // NXDOMAIN
            }
            _ = withUnsafePointer(to: &from) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, r, r.count, 0, $0, fl) } }
        }
    }

    func stop() {
        lock.withLock { stopped = true }
    }
}

@Suite struct DNSBLTests {
    @Test func theServersIPOnBlocklistsWithTimeoutsAndDelisting() throws {
        let dns = try FakeDNS()
        defer { dns.stop() }
        let db = try AppDatabase.inMemory()
        var s = DetectorSettings()
        s.publicIP = "192.0.2.25"
        s.dnsbls = ["listed.example", "clean.example", "refused.example", "silent.example"]
        let port = dns.port
        let d = DNSBLListed(resolver: { DNSResolver(servers: [("127.0.0.1", port)], timeout: 0.3) })
        let t: Int64 = 1_780_000_000
        let started = Date()
        let found = try d.detect(at: t, db: db, settings: s)
        // A silent list costs its timeouts, not more.
        #expect(Date().timeIntervalSince(started) < 3)
        #expect(found.map(\.kind) == ["dnsbl_listed"])
        #expect(found.first?.detailValues["dnsbl"] == "listed.example")
        #expect(found.first?.detailValues["codes"] == "127.0.0.2")
        #expect(dns.queries.contains("25.2.0.192.listed.example"))
        for i in found { _ = try db.insertInsight(i) }
        // Still listed a round later: not again the same day.
        #expect(try d.detect(at: t + 3 * 3600, db: db, settings: s).isEmpty)
        // The next day, again; then the listing ends.
        let nextDay = try d.detect(at: t + 86400, db: db, settings: s)
        #expect(nextDay.map(\.kind) == ["dnsbl_listed"])
        dns.setListed(false)
        let delisted = try d.detect(at: t + 86400 + 3 * 3600, db: db, settings: s)
        #expect(delisted.map(\.kind) == ["dnsbl_delisted"])
        #expect(delisted.first?.rating == "ok")
        // Without a public IP (or with an IPv6 one) nothing is asked.
        s.publicIP = nil
        let before = dns.queries.count
        #expect(try d.detect(at: t + 2 * 86400, db: db, settings: s).isEmpty)
        #expect(dns.queries.count == before)
    }

    @Test func thresholdsAndListsComeFromTheSettings() throws {
        let db = try AppDatabase.inMemory()
        #expect(DetectorSettings.load(db).dnsbls == DetectorSettings.defaultDNSBLs)
        try db.saveSettings(["insights.dnsbls": "a.example, b.example", "insights.auth_attack_failures": "7",
                             "insights.auth_attack_per_address": "3", "general.postfix_public_ip": "192.0.2.25"])
        let s = DetectorSettings.load(db)
        #expect(s.dnsbls == ["a.example", "b.example"])
        #expect(s.authAttackFailures == 7 && s.authAttackPerAddress == 3)
        #expect(s.publicIP == "192.0.2.25")
    }

    @Test func theSystemResolverIsResolvConfOrTheEnvironment() {
        #expect(DNSResolver.system(environment: ["LIGHTMETER_DNS_RESOLVER": "127.0.0.1:5353"]).servers.first?.port == 5353)
        #expect(!DNSResolver.system(environment: [:]).servers.isEmpty)
        #expect(DNSBLListed.reversed("192.0.2.25") == "25.2.0.192")
        #expect(DNSBLListed.reversed("2001:db8::1") == nil)
    }
}
