#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How lines begin. `auto` recognises every form below line by line.
public enum LogFormat: String, Sendable, CaseIterable {
    /// `Mmm dd hh:mm:ss host process[pid]: message` (traditional syslog, no year).
    case `default`
    /// `2021-05-16T00:01:42.278515+02:00 host process[pid]: message`.
    case rfc3339
    /// An RFC 3339 time, a space, then a traditional line.
    case prependRFC3339 = "prepend-rfc3339"
    /// Logstash JSON: decoded by the ingest layer; the inner message is a traditional or RFC 3339 line.
    case logstash
    case auto
}

extension Parser {
    /// Parses the header. Returns nil when the line has no recognisable header.
    func parseHeader(_ c: inout Cursor) -> (LogTime, Span, Process)? {
        // A leading NUL, BOM or spaces.
        while let b = c.peek(), b == 0 || b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") { c.advance() }
        if c.skip("\u{FEFF}") { /* BOM */ }
        // Syslog priority `<13>` some forwarders keep.
        if c.peek() == UInt8(ascii: "<") {
            var t = c
            t.advance()
            if let _ = t.integer(), t.skip(byte: UInt8(ascii: ">")) { c = t }
        }
        guard let first = c.peek() else { return nil }
        var time = LogTime.unknown
        if isDigit(first) {
            guard let t = parseISOTime(&c) else { return nil }
            time = t
            c.skipSpaces()
            // prepend-rfc3339: a traditional stamp follows; keep the RFC 3339 time, which has the year.
            if let b = c.peek(), b >= UInt8(ascii: "A"), b <= UInt8(ascii: "Z") {
                var t2 = c
                if parseBSDTime(&t2) != nil { c = t2; c.skipSpaces() }
            }
        } else if first == UInt8(ascii: "@") {
            guard let t = parseTAI64N(&c) else { return nil }
            time = t
            c.skipSpaces()
        } else if first >= UInt8(ascii: "A"), first <= UInt8(ascii: "Z") {
            var t = c
            if let bsd = parseBSDTime(&t) {
                time = bsd
                c = t
                c.skipSpaces()
            }
        }
        // host (absent when the first word already ends with ':')
        var host = Span.empty
        var probe = c
        let w = probe.word()
        guard w.count > 0 else { return nil }
        if c.byte(at: w.end - 1) != UInt8(ascii: ":") {
            // A line without a time must start with `process:` (message bodies as some tools keep them).
            guard time.isKnown else { return nil }
            host = w
            c = probe
            c.skipSpaces()
        }
        guard let process = parseProcess(&c) else { return nil }
        return (time, host, process)
    }

    /// `name[pid]: ` or `name: ` (dovecot also writes `auth-worker(123): `, `auth(user,ip)<sess>: `).
    func parseProcess(_ c: inout Cursor) -> Process? {
        if let p = parsePostfixProcess(&c) { return p }
        let start = c.pos
        var i = c.pos
        var nameEnd = -1
        var pid: Int32? = nil
        var depth = 0
        while i < c.end {
            let b = c.byte(at: i)
            if b == UInt8(ascii: "(") { depth += 1 } else if b == UInt8(ascii: ")") { depth = max(0, depth - 1) }
            if depth == 0 && b == UInt8(ascii: "[") {
                nameEnd = i
                var t = Cursor(base: c.base, pos: i + 1, end: c.end)
                guard let p = t.integer(), t.skip(byte: UInt8(ascii: "]")) else { return nil }
                pid = Int32(truncatingIfNeeded: p)
                guard t.skip(byte: UInt8(ascii: ":")) else { return nil }
                i = t.pos
                break
            }
            if depth == 0 && b == UInt8(ascii: ":") && (i + 1 == c.end || c.byte(at: i + 1) == UInt8(ascii: " ")) {
                nameEnd = i
                i += 1
                break
            }
            if b == UInt8(ascii: " ") && depth == 0 { return nil }
            i += 1
        }
        guard nameEnd > start else { return nil }
        c.pos = i
        c.skipSpaces()
        var process = classifyProcess(c, name: Span(from: start, to: nameEnd))
        process.pid = pid
        return process
    }

    /// `postfix/NAME[pid]: `, most lines of a Postfix log, read in one pass; anything else (another
    /// instance, a service in the name, no pid) is left to the general reading above, which gives the
    /// same process for these.
    @inline(__always)
    func parsePostfixProcess(_ c: inout Cursor) -> Process? {
        let start = c.pos
        // "postfix/" as a little-endian word.
        guard c.end - start > 10, UnsafeRawPointer(c.base + start).loadUnaligned(as: UInt64.self) == 0x2F78_6966_7473_6F70 else {
            return nil
        }
        var i = start + 8
        while i < c.end {
            let b = c.byte(at: i)
            if b == UInt8(ascii: "[") { break }
            if b == UInt8(ascii: "/") || b == UInt8(ascii: " ") || b == UInt8(ascii: ":") || b == UInt8(ascii: "(")
                || b == UInt8(ascii: ")") { return nil }
            i += 1
        }
        guard i < c.end, i > start + 8 else { return nil }
        var t = Cursor(base: c.base, pos: i + 1, end: c.end)
        guard let pid = t.integer(), t.skip(byte: UInt8(ascii: "]")), t.skip(byte: UInt8(ascii: ":")) else { return nil }
        var d = daemonName(c, Span(from: start + 8, to: i), slashed: true)
        if d == .other { d = .unknownPostfix }
        c.pos = t.pos
        c.skipSpaces()
        return Process(daemon: d, name: Span(from: start, to: i), pid: Int32(truncatingIfNeeded: pid))
    }

    func classifyProcess(_ c: Cursor, name: Span) -> Process {
        // Split on '/': first part is the syslog name, last the daemon, any middle the service.
        let s = Int(name.start), e = name.end
        var firstSlash = -1, lastSlash = -1
        var i = s
        while i < e {
            if c.byte(at: i) == UInt8(ascii: "/") {
                if firstSlash < 0 { firstSlash = i }
                lastSlash = i
            }
            i += 1
        }
        if firstSlash < 0 {
            // Postfix's daemons log as `postfix/NAME` (or `INSTANCE/NAME`); a bare `master` or
            // `sendmail` is another program's (Dovecot's master, Sendmail). Only the `postfix` command
            // itself logs under its bare name.
            var d = daemonName(c, name, slashed: false)
            if d.isPostfix && d != .postfix { d = .other }
            return Process(daemon: d, name: name)
        }
        let first = Span(from: s, to: firstSlash)
        let last = Span(from: lastSlash + 1, to: e)
        var d = daemonName(c, last, slashed: true)
        if d == .other {
            // `postfix/xyz`: a Postfix name we do not know.
            if c.sub(first).starts(with: "postfix") { d = .unknownPostfix }
        }
        let instance: Span? = c.span(first, equals: "postfix") ? nil : first
        let service: Span? = firstSlash != lastSlash ? Span(from: firstSlash + 1, to: lastSlash) : nil
        return Process(daemon: d, name: name, instance: instance, service: service)
    }

    func daemonName(_ c: Cursor, _ s: Span, slashed: Bool) -> Daemon {
        let n = Int(s.count)
        guard n > 0 else { return .other }
        let p = c.base + Int(s.start)
        @inline(__always) func eq(_ lit: StaticString) -> Bool {
            lit.utf8CodeUnitCount == n && memcmp(p, lit.utf8Start, n) == 0
        }
        switch p[0] {
        case UInt8(ascii: "s"):
            if eq("smtpd") { return .smtpd }
            if eq("smtp") { return .smtp }
            if eq("scache") { return .scache }
            if eq("sendmail") { return .sendmail }
            if eq("showq") { return .showq }
            if eq("spawn") { return .spawn }
            if eq("spamd") { return .spamd }
        case UInt8(ascii: "q"):
            if eq("qmgr") { return .qmgr }
            if eq("qmqpd") { return .qmqpd }
        case UInt8(ascii: "c"):
            if eq("cleanup") { return .cleanup }
            if eq("clamd") || eq("clamav") || eq("clamav-milter") { return .clamav }
        case UInt8(ascii: "l"):
            if eq("local") { return .local }
            if eq("lmtp") { return .lmtp }
        case UInt8(ascii: "v"):
            if eq("virtual") { return .virtual }
            if eq("verify") { return .verify }
        case UInt8(ascii: "p"):
            if eq("postscreen") { return .postscreen }
            if eq("pickup") { return .pickup }
            if eq("pipe") { return .pipe }
            if eq("postsuper") { return .postsuper }
            if eq("postfix-script") { return .postfixScript }
            if eq("postfix") { return .postfix }
            if eq("postlog") { return .postlog }
            if eq("proxymap") { return .proxymap }
            if eq("postmap") { return .postmap }
            if eq("postalias") { return .postalias }
            if eq("postdrop") { return .postdrop }
            if eq("postqueue") { return .postqueue }
            if eq("postconf") { return .postconf }
            if eq("postmulti") { return .postmulti }
            if eq("postkick") { return .postkick }
            if eq("postlock") { return .postlock }
            if eq("postcat") { return .postcat }
            if eq("policyd-spf") || eq("policy-spf") || eq("policyd-spf-perl") { return .policydSpf }
            if eq("postgrey") { return .postgrey }
            if eq("pop3-login") { return .dovecot }
        case UInt8(ascii: "b"):
            if eq("bounce") { return .bounce }
        case UInt8(ascii: "d"):
            if eq("dnsblog") { return .dnsblog }
            if eq("discard") { return .discard }
            if eq("defer") { return .defer }
            if eq("dovecot") || eq("dovecot-auth") { return .dovecot }
        case UInt8(ascii: "e"):
            if eq("error") { return .error }
        case UInt8(ascii: "r"):
            if eq("retry") { return .retry }
        case UInt8(ascii: "m"):
            if eq("master") { return .master }
            if eq("managesieve-login") { return .dovecot }
        case UInt8(ascii: "a"):
            if eq("anvil") { return .anvil }
            if eq("amavis") || eq("amavisd") || eq("amavisd-new") { return .amavis }
            if eq("auth") || eq("auth-worker") { return .dovecot }
            if n > 5, memcmp(p, ("auth(" as StaticString).utf8Start, 5) == 0 { return .dovecot }
            if n > 12, memcmp(p, ("auth-worker(" as StaticString).utf8Start, 12) == 0 { return .dovecot }
        case UInt8(ascii: "t"):
            if eq("trivial-rewrite") { return .trivialRewrite }
            if eq("tlsproxy") { return .tlsproxy }
            if eq("tlsmgr") { return .tlsmgr }
            if eq("trace") { return .trace }
        case UInt8(ascii: "f"):
            if eq("flush") { return .flush }
        case UInt8(ascii: "o"):
            if eq("oqmgr") { return .oqmgr }
            if eq("opendkim") { return .opendkim }
            if eq("opendmarc") { return .opendmarc }
        case UInt8(ascii: "i"):
            if eq("imap-login") || eq("imap") { return .dovecot }
        default:
            break
        }
        return .other
    }
}

// MARK: - Times

extension Parser {
    /// `Mmm dd hh:mm:ss` (day may be space padded; an optional fraction).
    func parseBSDTime(_ c: inout Cursor) -> LogTime? {
        guard c.remaining >= 14 else { return nil }
        let p = c.base + c.pos
        let m0 = p[0] | 0x20, m1 = p[1] | 0x20, m2 = p[2] | 0x20
        let month: UInt8
        switch (m0, m1, m2) {
        case (0x6A, 0x61, 0x6E): month = 1   // jan
        case (0x66, 0x65, 0x62): month = 2   // feb
        case (0x6D, 0x61, 0x72): month = 3   // mar
        case (0x61, 0x70, 0x72): month = 4   // apr
        case (0x6D, 0x61, 0x79): month = 5   // may
        case (0x6A, 0x75, 0x6E): month = 6   // jun
        case (0x6A, 0x75, 0x6C): month = 7   // jul
        case (0x61, 0x75, 0x67): month = 8   // aug
        case (0x73, 0x65, 0x70): month = 9   // sep
        case (0x6F, 0x63, 0x74): month = 10  // oct
        case (0x6E, 0x6F, 0x76): month = 11  // nov
        case (0x64, 0x65, 0x63): month = 12  // dec
        default: return nil
        }
        var t = c
        t.advance(3)
        guard t.skip(byte: UInt8(ascii: " ")) else { return nil }
        t.skipSpaces()
        guard let day = t.integer(), day >= 1, day <= 31, t.skip(byte: UInt8(ascii: " ")) else { return nil }
        t.skipSpaces()
        guard let (h, mi, s, ns) = clock(&t) else { return nil }
        // Some forwarders insert the year: `Jan  2 2023 10:00:00` is not supported; `Jan  2 10:00:00 2023` neither.
        c = t
        return LogTime(month: month, day: UInt8(day), hour: h, minute: mi, second: s, nanosecond: ns)
    }

    /// `hh:mm:ss[.fraction]`
    @inline(__always)
    func clock(_ t: inout Cursor) -> (UInt8, UInt8, UInt8, Int32)? {
        guard t.remaining >= 8 else { return nil }
        let p = t.base + t.pos
        guard isDigit(p[0]), isDigit(p[1]), p[2] == UInt8(ascii: ":"), isDigit(p[3]), isDigit(p[4]),
              p[5] == UInt8(ascii: ":"), isDigit(p[6]), isDigit(p[7]) else { return nil }
        let h = (p[0] &- 48) &* 10 &+ (p[1] &- 48)
        let m = (p[3] &- 48) &* 10 &+ (p[4] &- 48)
        let s = (p[6] &- 48) &* 10 &+ (p[7] &- 48)
        guard h < 24, m < 60, s <= 60 else { return nil }
        t.advance(8)
        var ns: Int32 = 0
        if t.peek() == UInt8(ascii: ".") || t.peek() == UInt8(ascii: ",") {
            t.advance()
            var digits = 0
            while let b = t.peek(), isDigit(b) {
                if digits < 9 { ns = ns * 10 + Int32(b - 48) }
                digits += 1
                t.advance()
            }
            guard digits > 0 else { return nil }
            while digits < 9 { ns *= 10; digits += 1 }
        }
        return (h, m, s, ns)
    }

    /// `2021-05-16T00:01:42.278515+02:00`, `...Z`, `2013-08-11 03:56:40` (no offset).
    func parseISOTime(_ c: inout Cursor) -> LogTime? {
        guard c.remaining >= 19 else { return nil }
        let p = c.base + c.pos
        guard isDigit(p[0]), isDigit(p[1]), isDigit(p[2]), isDigit(p[3]), p[4] == UInt8(ascii: "-"),
              isDigit(p[5]), isDigit(p[6]), p[7] == UInt8(ascii: "-"), isDigit(p[8]), isDigit(p[9]),
              p[10] == UInt8(ascii: "T") || p[10] == UInt8(ascii: " ") else { return nil }
        let year = Int16(p[0] - 48) * 1000 + Int16(p[1] - 48) * 100 + Int16(p[2] - 48) * 10 + Int16(p[3] - 48)
        let month = (p[5] - 48) * 10 + (p[6] - 48)
        let day = (p[8] - 48) * 10 + (p[9] - 48)
        guard month >= 1, month <= 12, day >= 1, day <= 31 else { return nil }
        var t = c
        t.advance(11)
        guard let (h, mi, s, ns) = clock(&t) else { return nil }
        var offset: Int16? = nil
        if t.skip(byte: UInt8(ascii: "Z")) || t.skip(byte: UInt8(ascii: "z")) {
            offset = 0
        } else if let sign = t.peek(), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
            guard t.remaining >= 6 else { return nil }
            let q = t.base + t.pos
            guard isDigit(q[1]), isDigit(q[2]) else { return nil }
            var minutes = Int16((q[1] - 48) * 10 + (q[2] - 48)) * 60
            if q[3] == UInt8(ascii: ":"), isDigit(q[4]), isDigit(q[5]) {
                minutes += Int16((q[4] - 48) * 10 + (q[5] - 48))
                t.advance(6)
            } else if isDigit(q[3]), isDigit(q[4]) {
                minutes += Int16((q[3] - 48) * 10 + (q[4] - 48))
                t.advance(5)
            } else {
                t.advance(3)
            }
            offset = sign == UInt8(ascii: "-") ? -minutes : minutes
        }
        c = t
        return LogTime(year: year, month: month, day: day, hour: h, minute: mi, second: s, nanosecond: ns,
                       utcOffsetMinutes: offset)
    }

    /// daemontools' `@4000000050d6c1e1331a5a44` (TAI64N).
    func parseTAI64N(_ c: inout Cursor) -> LogTime? {
        guard c.remaining >= 25, c.byte(at: c.pos) == UInt8(ascii: "@") else { return nil }
        var secs: UInt64 = 0
        var nanos: UInt32 = 0
        for k in 0..<24 {
            let b = c.byte(at: c.pos + 1 + k)
            let v: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = b - 48
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = b - 87
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = b - 55
            default: return nil
            }
            if k < 16 { secs = secs << 4 | UInt64(v) } else { nanos = nanos << 4 | UInt32(v) }
        }
        // Between 1970 and 9999.
        guard secs >= (1 << 62), secs - (1 << 62) < 253_402_300_800 else { return nil }
        // TAI is 10 s ahead of UTC at the TAI64 epoch, and leap seconds since: close enough to UTC
        // for mail logs (TAI64N labels written by multilog are usually treated as UTC + 10 s).
        let unix = Int64(secs - (1 << 62)) - 10
        c.advance(25)
        var t = LogTime(fromUnix: unix)
        t.nanosecond = Int32(min(nanos, 999_999_999))
        return t
    }
}

extension LogTime {
    /// The civil UTC time of a Unix timestamp.
    public init(fromUnix seconds: Int64) {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let rem = seconds - days * 86400
        let (y, m, d) = civilFromDays(days)
        self.init(year: Int16(truncatingIfNeeded: y), month: UInt8(m), day: UInt8(d),
                  hour: UInt8(rem / 3600), minute: UInt8(rem % 3600 / 60), second: UInt8(rem % 60),
                  nanosecond: 0, utcOffsetMinutes: 0)
    }

    /// Seconds since the Unix epoch (UTC), using `year` when the line has none.
    /// A time without an offset is taken as UTC.
    public func unixSeconds(year fallbackYear: Int) -> Int64 {
        let y = year != 0 ? Int64(year) : Int64(fallbackYear)
        let days = daysFromCivil(y, Int64(month), Int64(day))
        var s = days * 86400 + Int64(hour) * 3600 + Int64(minute) * 60 + Int64(second)
        if let off = utcOffsetMinutes { s -= Int64(off) * 60 }
        return s
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
@inline(__always)
public func daysFromCivil(_ y0: Int64, _ m: Int64, _ d: Int64) -> Int64 {
    let y = m <= 2 ? y0 - 1 : y0
    let era = (y >= 0 ? y : y - 399) / 400
    let yoe = y - era * 400
    let mp = (m + 9) % 12
    let doy = (153 * mp + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146097 + doe - 719468
}

public func civilFromDays(_ z0: Int64) -> (Int64, Int64, Int64) {
    let z = z0 + 719468
    let era = (z >= 0 ? z : z - 146096) / 146097
    let doe = z - era * 146097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    let y = yoe + era * 400
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (m <= 2 ? y + 1 : y, m, d)
}
