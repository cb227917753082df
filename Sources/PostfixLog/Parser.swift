/// Turns one log line into a `Record`. A line is never dropped: what has no known shape comes back
/// as `.unsupported` with whatever header could be read.
///
/// The parser is a value with no state; it allocates nothing per line.
public struct Parser: Sendable {
    public var format: LogFormat

    public init(format: LogFormat = .auto) {
        self.format = format
    }

    /// Parses one line (without its newline).
    public func parse(_ line: UnsafeBufferPointer<UInt8>) -> Record {
        guard let base = line.baseAddress, line.count > 0 else {
            return Record(header: Header(time: .unknown, host: .empty, process: Process(daemon: .other, name: .empty),
                                         message: .empty), payload: .unsupported, isUnsupported: true)
        }
        var end = line.count
        // Tolerate a trailing CR.
        if line[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        var c = Cursor(base: base, pos: 0, end: end)
        guard let (time, host, process) = parseHeader(&c) else {
            return Record(header: Header(time: .unknown, host: .empty, process: Process(daemon: .other, name: .empty),
                                         message: Span(from: 0, to: end)), payload: .unsupported, isUnsupported: true)
        }
        let header = Header(time: time, host: host, process: process, message: c.rest)
        // parseMessage's test, with the record's flag known from it.
        let payload = parseDaemonMessage(daemon: process.daemon, c)
        if case .unsupported = payload {
            if process.daemon.isPostfix, isCommonNote(c) { return Record(header: header, payload: .note(c.rest), isUnsupported: false) }
            return Record(header: header, payload: .unsupported, isUnsupported: true)
        }
        return Record(header: header, payload: payload, isUnsupported: false)
    }

    /// Parses a line held in an array.
    public func parse(_ line: LogLine) -> Record {
        line.bytes.withUnsafeBufferPointer { parse($0) }
    }

    /// Parses a message body (what follows `process[pid]: `) as if `daemon` had written it.
    /// Offsets in the result are relative to `body`.
    public func parseBody(_ body: UnsafeBufferPointer<UInt8>, daemon: Daemon) -> Payload {
        guard let base = body.baseAddress else { return .unsupported }
        return parseMessage(daemon: daemon, Cursor(base: base, pos: 0, end: body.count))
    }

    @inline(__always)
    func parseMessage(daemon: Daemon, _ c: Cursor) -> Payload {
        let payload = parseDaemonMessage(daemon: daemon, c)
        if case .unsupported = payload, daemon.isPostfix, isCommonNote(c) { return .note(c.rest) }
        return payload
    }

    /// Informational lines any Postfix daemon may write.
    private func isCommonNote(_ c: Cursor) -> Bool {
        if c.starts(with: "table "), c.find(" has changed -- restarting") != nil { return true }
        if c.starts(with: "cannot load Certificate Authority data") { return true }
        if c.starts(with: "bare <LF> received after ") { return true }
        if c.starts(with: "connect from ") || c.starts(with: "disconnect from ") { return true }
        return false
    }

    @inline(__always)
    private func parseDaemonMessage(daemon: Daemon, _ c: Cursor) -> Payload {
        switch daemon {
        case .smtp, .lmtp, .local, .virtual, .pipe, .error, .discard, .retry:
            return parseDeliveryAgent(c)
        case .qmgr, .oqmgr:
            return parseQmgr(c)
        case .cleanup:
            return parseCleanup(c)
        case .smtpd, .qmqpd:
            return parseSmtpd(c)
        case .postscreen:
            return parsePostscreen(c)
        case .bounce, .defer, .trace:
            return parseBounce(c)
        case .pickup:
            return parsePickup(c)
        case .master:
            return parseMaster(c)
        case .postsuper:
            return parsePostsuper(c)
        case .anvil, .scache:
            return parseStatistics(c)
        case .dnsblog:
            return parseDnsblog(c)
        case .dovecot:
            return parseDovecot(c)
        case .amavis:
            return parseAmavis(c)
        case .opendkim, .opendmarc, .policydSpf, .postgrey, .spamd, .clamav:
            return parseFilter(daemon, c)
        case .other:
            return parseOther(c)
        default:
            return parseMiscPostfix(daemon, c)
        }
    }
}

// MARK: - Shared pieces

extension Parser {
    /// A queue id followed by `: `. Short ids are 6+ upper-case hex digits; long ids 10+ alphanumerics.
    @inline(__always)
    func queueID(_ c: inout Cursor) -> QueueID? {
        let start = c.pos
        var i = start
        var allHex = true
        while i < c.end {
            let b = c.byte(at: i)
            if isHexUpper(b) {
            } else if isAlnum(b) {
                allHex = false
            } else {
                break
            }
            i += 1
        }
        let n = i - start
        guard n >= 6, i + 1 < c.end, c.byte(at: i) == UInt8(ascii: ":"), c.byte(at: i + 1) == UInt8(ascii: " ") else {
            return nil
        }
        if !allHex && n < 10 { return nil }
        c.pos = i + 2
        return Span(from: start, to: i)
    }

    /// A bare queue id word (no colon): used for `queued as X`, `notification: X`.
    @inline(__always)
    func bareQueueID(_ c: inout Cursor) -> QueueID? {
        let start = c.pos
        while let b = c.peek(), isAlnum(b) { c.advance() }
        let n = c.pos - start
        guard n >= 5 else { c.pos = start; return nil }
        return Span(from: start, to: c.pos)
    }

    /// `host[ip]` and an optional `:port`.
    @inline(__always)
    func peer(_ c: inout Cursor) -> Peer? {
        let start = c.pos
        guard let open = c.find(UInt8(ascii: "[")) else { return nil }
        // The host must not contain spaces.
        var i = start
        while i < open { if c.byte(at: i) == UInt8(ascii: " ") { return nil }; i += 1 }
        var t = c
        t.pos = open + 1
        guard let ip = t.take(until: UInt8(ascii: "]")) else { return nil }
        var port: Int32? = nil
        if t.peek() == UInt8(ascii: ":"), let d = t.peek(at: 1), isDigit(d) {
            t.advance()
            port = t.integer().map { Int32(truncatingIfNeeded: $0) }
        }
        c = t
        return Peer(host: Span(from: start, to: open), ip: ip, port: port)
    }

    /// `<address>` or a bare address up to `,`/space. Returns the address without brackets. A quoted
    /// local part may hold `<` and `>` (`<"<b>x"@example.com>`): the address ends at the first `>`
    /// followed by `,`, a space, `;`, `: ` or the end of the line.
    @inline(__always)
    func address(_ c: inout Cursor) -> Span {
        if c.skip(byte: UInt8(ascii: "<")) {
            let start = c.pos
            var i = start
            while i < c.end {
                if c.base[i] == UInt8(ascii: ">") {
                    let next = i + 1 < c.end ? c.base[i + 1] : UInt8(ascii: ",")
                    let colonSpace = next == UInt8(ascii: ":") && (i + 2 >= c.end || c.base[i + 2] == UInt8(ascii: " "))
                    if next == UInt8(ascii: ",") || next == UInt8(ascii: " ") || next == UInt8(ascii: ";") || colonSpace {
                        c.pos = i + 1
                        return Span(from: start, to: i)
                    }
                }
                i += 1
            }
            return c.takeRest()
        }
        let start = c.pos
        while let b = c.peek(), b != UInt8(ascii: ","), b != UInt8(ascii: " ") { c.advance() }
        return Span(from: start, to: c.pos)
    }

    /// `x.y.z`
    @inline(__always)
    func dsn(_ c: inout Cursor) -> DSN? {
        var t = c
        guard let k = t.integer(), k <= 9, t.skip(byte: UInt8(ascii: ".")),
              let s = t.integer(), s < 1000, t.skip(byte: UInt8(ascii: ".")),
              let d = t.integer(), d < 1000 else { return nil }
        c = t
        return DSN(klass: UInt8(k), subject: UInt16(s), detail: UInt16(d))
    }

    /// A three-digit SMTP reply code followed by a space or dash.
    @inline(__always)
    func replyCode(_ c: inout Cursor) -> Int16? {
        guard c.remaining >= 4, let a = c.peek(), let b = c.peek(at: 1), let d = c.peek(at: 2),
              a >= UInt8(ascii: "2"), a <= UInt8(ascii: "5"), isDigit(b), isDigit(d),
              let sep = c.peek(at: 3), sep == UInt8(ascii: " ") || sep == UInt8(ascii: "-") else { return nil }
        c.advance(4)
        return Int16(a - 48) * 100 + Int16(b - 48) * 10 + Int16(d - 48)
    }

    /// `warning: `, `error: `, `fatal: `, `panic: ` at the cursor.
    @inline(__always)
    func severity(_ c: inout Cursor) -> Severity? {
        guard let b = c.peek() else { return nil }
        switch b {
        case UInt8(ascii: "w"): if c.skip("warning: ") { return .warning }
        case UInt8(ascii: "e"): if c.skip("error: ") { return .error }
        case UInt8(ascii: "f"): if c.skip("fatal: ") { return .fatal }
        case UInt8(ascii: "p"): if c.skip("panic: ") { return .panic }
        default: break
        }
        return nil
    }

    /// A diagnostic line (`warning: ...`, `QID: warning: ...`) or nil.
    @inline(__always)
    func diagnostic(_ c: Cursor, queueID: QueueID? = nil) -> Payload? {
        var t = c
        guard let s = severity(&t) else { return nil }
        // `warning: QID: ...`
        var u = t
        if queueID == nil, let q = self.queueID(&u) {
            return .diagnostic(severity: s, queueID: q, text: u.rest)
        }
        return .diagnostic(severity: s, queueID: queueID, text: t.rest)
    }

    /// Parses `; from=<..> to=<..> proto=.. helo=<..>` (or the comma form of postscreen) that starts
    /// at `c`. Unknown keys are skipped.
    func envelopeTail(_ c: Cursor) -> EnvelopeTail {
        var t = c
        var tail = EnvelopeTail()
        while !t.isAtEnd {
            t.skipSpaces()
            if t.skip("from=") { tail.from = address(&t) }
            else if t.skip("to=") { tail.to = address(&t) }
            else if t.skip("proto=") { tail.proto = wordUntilCommaOrSpace(&t) }
            else if t.skip("helo=") { tail.helo = address(&t) }
            else {
                // skip an unknown key=value
                while let b = t.peek(), b != UInt8(ascii: " ") { t.advance() }
            }
            _ = t.skip(byte: UInt8(ascii: ","))
            if let b = t.peek(), b == UInt8(ascii: ":") { break }  // `: text` after header checks
        }
        return tail
    }

    @inline(__always)
    func wordUntilCommaOrSpace(_ c: inout Cursor) -> Span {
        let start = c.pos
        while let b = c.peek(), b != UInt8(ascii: ","), b != UInt8(ascii: " "), b != UInt8(ascii: ";") { c.advance() }
        return Span(from: start, to: c.pos)
    }
}
