import Foundation
import Ingest
import Store
import Testing
import Tracking

#if canImport(Glibc)
import Glibc
#endif

/// Sends bytes over a real socket and closes it.
func send(_ bytes: [UInt8], tcpPort: Int? = nil, unixPath: String? = nil, udpPort: Int? = nil) throws {
    let fd: Int32
    if let p = tcpPort ?? udpPort {
        fd = socket(AF_INET, Int32(udpPort != nil ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(p).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(rc == 0)
    } else {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        _ = withUnsafeMutableBytes(of: &addr.sun_path) { p in unixPath!.utf8CString.withUnsafeBytes { p.copyMemory(from: $0) } }
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        #expect(rc == 0)
    }
    var off = 0
    while off < bytes.count {
        let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        off += n
    }
    close(fd)
}

func importNetwork(_ lines: (NetworkSource) throws -> Void, syslog: Bool, address: ListenAddress) throws -> ([String], ImportSummary) {
    let ws = tempDir()
    defer { try? FileManager.default.removeItem(atPath: ws) }
    let queue = LineQueue()
    let source = NetworkSource(queue: queue)
    try lines(source)
    Thread.sleep(forTimeInterval: 0.3)
    source.close()
    let db = try AppDatabase.open(workspace: ws)
    let importer = try Importer(db: db, format: .default, startingYear: 2021, domains: DomainMapping())
    let s = try importer.importQueue(queue, source: "network", stop: { false })
    return (try exportLines(db), s)
}

@Suite(.serialized) struct NetworkSourceTests {
    static let text = syntheticLog(0..<40).joined(separator: "\n") + "\n"

    @Test func listenSpecs() {
        #expect(ListenAddress("tcp=:9999") == .tcp(host: "0.0.0.0", port: 9999))
        #expect(ListenAddress("tcp;localhost:9999") == .tcp(host: "localhost", port: 9999))
        #expect(ListenAddress("unix=/tmp/x.sock") == .unix(path: "/tmp/x.sock"))
        #expect(ListenAddress("unix;/tmp/x.sock") == .unix(path: "/tmp/x.sock"))
        #expect(ListenAddress("udp=127.0.0.1:514") == .udp(host: "127.0.0.1", port: 514))
        #expect(ListenAddress("http=:80") == nil)
        #expect(ListenAddress("tcp=:99999") == nil)
    }

    @Test func linesOverTCPFromSeveralConnections() throws {
        let all = Array(Self.text.utf8)
        let cut = all.count / 2
        let (rows, s) = try importNetwork({ source in
            let port = try source.listen(.tcp(host: "127.0.0.1", port: 0), syslog: false)
            // The log is cut in two connections at a line boundary.
            let nl = all[cut...].firstIndex(of: 0x0A)! + 1
            try send(Array(all[..<nl]), tcpPort: port)
            try send(Array(all[nl...]), tcpPort: port)
        }, syslog: false, address: .tcp(host: "127.0.0.1", port: 0))
        #expect(s.lines == 40 * 5 + 6)
        #expect(rows == (try referenceExport(syntheticLog(0..<40))))
    }

    @Test func linesOverAUnixSocket() throws {
        let path = NSTemporaryDirectory() + "lm-\(UUID().uuidString.prefix(8)).sock"
        let (rows, _) = try importNetwork({ source in
            try source.listen(.unix(path: path), syslog: false)
            try send(Array(Self.text.utf8), unixPath: path)
        }, syslog: false, address: .unix(path: path))
        #expect(rows == (try referenceExport(syntheticLog(0..<40))))
    }

    @Test func syslog5424OverTCPWithOctetCounting() throws {
        // RFC 5424 messages with structured data, octet-counted, several in one write.
        var stream: [UInt8] = []
        for line in syntheticLog(0..<40) {
            // `Jan  1 00:00:00 mx postfix/pickup[10]: MSG` -> RFC 5424 with an RFC 3339 stamp.
            let parts = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
            let clock = parts[2], proc = parts[4].dropLast(), msg = parts[5]
            let app = proc[..<proc.firstIndex(of: "[")!], pid = proc[proc.index(after: proc.firstIndex(of: "[")!)..<proc.firstIndex(of: "]")!]
            let day = Int(parts[1])!
            let m = "<22>1 2021-01-\(String(format: "%02d", day))T\(clock).123Z mx \(app) \(pid) - [meta x=\"1\\]\"] \(msg)"
            stream += Array("\(m.utf8.count) \(m)".utf8)
        }
        let (rows, s) = try importNetwork({ source in
            let port = try source.listen(.tcp(host: "127.0.0.1", port: 0), syslog: true)
            try send(stream, tcpPort: port)
        }, syslog: true, address: .tcp(host: "127.0.0.1", port: 0))
        #expect(s.postfixUnsupported == 0)
        #expect(rows.count == 40)
        #expect(rows.filter { $0.contains("bounced") }.count == 6)
    }

    @Test func syslog3164OverUDP() throws {
        let (rows, s) = try importNetwork({ source in
            let port = try source.listen(.udp(host: "127.0.0.1", port: 0), syslog: true)
            for line in syntheticLog(0..<20) {
                try send(Array("<22>\(line)".utf8), udpPort: port)
            }
        }, syslog: true, address: .udp(host: "127.0.0.1", port: 0))
        #expect(s.lines == 20 * 5 + 3)
        #expect(rows == (try referenceExport(syntheticLog(0..<20))))
    }

    @Test func syslogFramingByteByByte() {
        var framer = SyslogFramer()
        var got: [String] = []
        let input = Array("11 <13>1 a b c12 <13>1 hello\nplain line\n".utf8)
        for b in input { framer.feed([b]) { got.append(String(decoding: $0, as: UTF8.self)) } }
        #expect(got == ["<13>1 a b c", "<13>1 hello\n", "plain line"])
        let line = Syslog.line(from: Array("<22>1 2021-01-01T00:00:00Z mx postfix/qmgr 12 - - \u{FEFF}ABCDEF1234: removed".utf8))
        #expect(String(decoding: line, as: UTF8.self) == "2021-01-01T00:00:00Z mx postfix/qmgr[12]: ABCDEF1234: removed")
    }
}
