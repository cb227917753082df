import PostfixLog
import Testing

/// A small deterministic generator (SplitMix64) so failures reproduce.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct RobustnessTests {
    static let samples = [
        "Jun  3 10:40:59 mail postfix/smtp[9890]: 776E41855DB2: to=<invalid.email@example.com>, relay=mx.example.com[11.22.33.44]:25, delay=1.9, delays=0/0/1.5/0.37, dsn=5.1.1, status=bounced (host mx.example.com[11.22.33.44] said: 550 5.1.1 <invalid.email@example.com> User unknown (in reply to RCPT TO command))",
        "2021-05-16T00:01:42.278515+02:00 mail postfix/qmgr[1005]: 4AA091855DA0: from=<user@sender.com>, size=391, nrcpt=1 (queue active)",
        "Oct 22 02:13:42 conch postfix/smtpd[26895]: NOQUEUE: reject: RCPT from jurann.biz[77.95.228.43]: 554 5.7.1 Service unavailable; from=<a@b> to=<c@d> proto=ESMTP helo=<jurann.biz>",
        "Jun  3 10:40:57 mail postfix/cleanup[9709]: 4AA091855DA0: replace: header MIME-Version: 1.0 from some.domain.name[1.2.3.4]; from=<user@sender.com> to=<x@example.com> proto=ESMTP helo=<[192.168.0.178]>: Mime-Version: 1.0",
        "Oct 25 04:24:59 test postfix/postscreen[22244]: PREGREET 16 after 2.6 from [177.154.236.182]:41323: EHLO 127.0.0.1\\r\\n",
        "Sep 8 07:16:27 canyon dovecot[7508]: imap-login: Disconnected (auth failed, 1 attempts in 6 secs): user=<toto@toto.com>, method=PLAIN, rip=1.1.1.1, lip=7.7.7.7, TLS",
        "@400000004c91b044077a9e94 dovecot-auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=root rhost=176.61.140.225  user=root",
        "Jun  3 10:40:57 mail amavis[2279]: (02279-04) Passed CLEAN {RelayedOpenRelay}, [1.2.3.4]:6101 [1.2.3.4] <a@b> -> <c@d>, Queue-ID: 4AA091855DA0, Message-ID: <m@x>, queued_as: 776E41855DB2, 80 ms",
    ]

    /// Reads every span of the record back, which traps if a span leaves the line.
    func touchAll(_ r: Record, _ buf: UnsafeBufferPointer<UInt8>) {
        let n = buf.count
        func ok(_ s: Span?) {
            guard let s else { return }
            #expect(s.start >= 0 && s.count >= 0 && s.end <= n, "span \(s) outside a line of \(n) bytes")
        }
        ok(r.header.host); ok(r.header.message); ok(r.header.process.name)
        switch r.payload {
        case .delivery(let d): ok(d.queueID); ok(d.to); ok(d.origTo); ok(d.reply); ok(d.queuedAs); ok(d.remoteID); ok(d.relay.text)
        case .reject(let x): ok(x.stage); ok(x.reason); ok(x.from); ok(x.to); ok(x.helo); ok(x.address); ok(x.client.ip)
        case .cleanup(let e): ok(e.text); ok(e.reason); ok(e.from); ok(e.to); ok(e.what)
        case .messageID(let q, let m, _): ok(q); ok(m)
        case .queueActive(let q): ok(q.queueID); ok(q.from)
        case .postscreen(let p): ok(p.ip); ok(p.detail)
        case .dovecot(.authFailure(let a)): ok(a.user); ok(a.remoteIP); ok(a.reason); ok(a.service)
        case .diagnostic(_, let q, let t): ok(q); ok(t)
        default: break
        }
        _ = r.kind
    }

    func check(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { b in touchAll(Parser().parse(b), b) }
    }

    @Test func everyPrefixOfRealLines() {
        for s in Self.samples {
            let bytes = Array(s.utf8)
            for k in 0...bytes.count { check(Array(bytes[0..<k])) }
        }
    }

    @Test func randomBytes() {
        var rng = SplitMix(state: 42)
        for _ in 0..<20_000 {
            let n = Int.random(in: 0..<300, using: &rng)
            check((0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) })
        }
    }

    @Test func mutatedRealLines() {
        var rng = SplitMix(state: 7)
        let alphabet = Array("<>[]():;,= /.-0123456789ABCDEFabcdef\u{0}\u{FF}".utf8)
        for _ in 0..<20_000 {
            var bytes = Array(Self.samples.randomElement(using: &rng)!.utf8)
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[i] = alphabet.randomElement(using: &rng)!
                case 1: bytes.remove(at: i)
                default: bytes.insert(alphabet.randomElement(using: &rng)!, at: i)
                }
                if bytes.isEmpty { break }
            }
            check(bytes)
        }
    }

    @Test func invalidUTF8IsKeptAndReadable() {
        var bytes = Array("Jun  3 10:40:57 mail postfix/qmgr[1005]: 4AA091855DA0: from=<".utf8)
        bytes += [0xC3, 0x28, 0xFF, 0xFE, 0x80]
        bytes += Array("@x.example>, size=391, nrcpt=1 (queue active)".utf8)
        let line = LogLine(bytes)
        let r = Parser().parse(line)
        guard case .queueActive(let q) = r.payload else { Issue.record("kind \(r.kind)"); return }
        #expect(line.string(q.from).hasSuffix("@x.example"))
        #expect(q.size == 391)
    }

    @Test func oneMegabyteLines() {
        let prefix = "Jun  3 10:40:57 mail postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[1.2.3.4]: 550 5.1.1 "
        let huge = Array(prefix.utf8) + [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)
        check(huge)
        check([UInt8](repeating: UInt8(ascii: "<"), count: 1 << 20))
        check([UInt8](repeating: UInt8(ascii: "["), count: 1 << 20))
        check(Array("Jun  3 10:40:57 mail postfix/cleanup[1]: 4AA091855DA0: message-id=<".utf8) + [UInt8](repeating: UInt8(ascii: " "), count: 1 << 20))
    }
}
