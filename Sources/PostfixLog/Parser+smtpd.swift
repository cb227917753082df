extension Parser {
    func parseSmtpd(_ c0: Cursor) -> Payload {
        var c = c0
        guard let b = c.peek() else { return .unsupported }
        switch b {
        case UInt8(ascii: "c"):
            if c.skip("connect from ") {
                guard let p = peer(&c) else { return .unsupported }
                return .smtpd(.connect(p))
            }
        case UInt8(ascii: "d"):
            if c.skip("disconnect from ") {
                guard let p = peer(&c) else { return .unsupported }
                c.skipSpaces()
                return .smtpd(.disconnect(p, counters(c)))
            }
        case UInt8(ascii: "l"):
            if c.skip("lost connection after ") {
                return afterFrom(c) { .smtpd(.lostConnection(after: $0, $1)) }
            }
        case UInt8(ascii: "t"):
            if c.skip("timeout after ") { return afterFrom(c) { .smtpd(.timeout(after: $0, $1)) } }
            if c.skip("too many errors after ") { return afterFrom(c) { .smtpd(.tooManyErrors(after: $0, $1)) } }
        case UInt8(ascii: "i"):
            if c.skip("improper command pipelining after ") {
                return afterFrom(c) { .smtpd(.improperPipelining(after: $0, $1)) }
            }
        case UInt8(ascii: "N"):
            if c.skip("NOQUEUE: ") {
                if let r = rejectLike(queueID: nil, c) { return r }
                return .smtpd(.note(c0.rest))
            }
        case UInt8(ascii: "w"):
            return smtpdWarning(c0)
        default:
            break
        }
        if let tls = tlsEstablished(c0) { return .smtpd(.tls(tls)) }
        var q = c0
        if let qid = queueID(&q) {
            if q.skip("client=") { return clientLine(qid, q) }
            if let r = rejectLike(queueID: qid, q) { return r }
            if let d = diagnostic(q, queueID: qid) { return d }
            // `QID: enabling PIX workarounds`, `QID: info: ...`
            return .smtpd(.note(c0.rest))
        }
        if let d = diagnostic(c0) { return d }
        c = c0
        if c.skip("SSL_accept error from ") || c.skip("too many connections") || c.skip("abort:")
            || c.skip("proxy-") || c.skip("Anonymous TLS") || c.skip("Untrusted TLS") || c.skip("Trusted TLS")
            || c.skip("Verified TLS") || c.skip("SSL_accept") || c.skip("TLS SNI") || c.skip("discarding EHLO")
            || c.skip("NOTE:") || c.skip("message repeated") || c.skip("auth=") {
            return .smtpd(.sessionNote(c0.rest))
        }
        return .unsupported
    }

    /// `STAGE from host[ip]` (with an optional ` (N bytes)` or trailing `:`).
    private func afterFrom(_ c0: Cursor, _ make: (Span, Peer) -> Payload) -> Payload {
        var c = c0
        guard let i = c.find(" from ") else { return .unsupported }
        var stageEnd = i
        // `DATA (0 bytes)`
        if let paren = c.sub(Span(from: c.pos, to: i)).find(UInt8(ascii: " ")) { stageEnd = paren }
        let stage = Span(from: c.pos, to: stageEnd)
        c.pos = i + 6
        guard let p = peer(&c) else { return .unsupported }
        return make(stage, p)
    }

    private func smtpdWarning(_ c0: Cursor) -> Payload {
        var c = c0
        guard c.skip("warning: ") else { return diagnostic(c0) ?? .unsupported }
        // `warning: host[ip]: SASL LOGIN authentication failed: reason[, sasl_username=x]`
        var t = c
        if let p = peer(&t), t.skip(": SASL ") {
            let mech = t.word()
            guard t.skip(" authentication failed") else { return diagnostic(c0) ?? .unsupported }
            _ = t.skip(byte: UInt8(ascii: ":"))
            t.skipSpaces()
            var reason = t.rest
            var user: Span? = nil
            if let u = t.find(", sasl_username=") {
                reason = Span(from: t.pos, to: u)
                var w = t
                w.pos = u + 16
                user = w.rest
            }
            return .smtpd(.saslFailed(SASLFailure(client: p, mechanism: mech, reason: reason, username: user)))
        }
        if c.starts(with: "hostname ") && c.find(" does not resolve to address ") != nil {
            return .smtpd(.dnsMismatch(c.rest))
        }
        if c.find(": address not listed for hostname ") != nil || c.find(": hostname ") != nil
            && c.find(" verification failed") != nil {
            return .smtpd(.dnsMismatch(c.rest))
        }
        if c.skip("non-SMTP command from ") {
            guard let p = peer(&c) else { return diagnostic(c0) ?? .unsupported }
            _ = c.skip(": ")
            return .smtpd(.nonSMTPCommand(p, c.rest))
        }
        return diagnostic(c0) ?? .unsupported
    }

    private func clientLine(_ q: QueueID, _ c0: Cursor) -> Payload {
        var c = c0
        let clientStart = c.pos
        var p: Peer
        if let pp = peer(&c) { p = pp } else {
            // `client=local`? keep the word as host
            let w = wordUntilCommaOrSpace(&c)
            p = Peer(host: w, ip: .empty)
        }
        _ = clientStart
        var line = ClientLine(queueID: q, client: p)
        while c.skip(", ") {
            if c.skip("sasl_method=") { line.saslMethod = wordUntilComma(&c) }
            else if c.skip("sasl_username=") { line.saslUsername = wordUntilComma(&c) }
            else if c.skip("sasl_sender=") { line.saslSender = wordUntilComma(&c) }
            else if c.skip("orig_queue_id=") { line.origQueueID = wordUntilComma(&c) }
            else if c.skip("orig_client=") { line.origClient = wordUntilComma(&c) }
            else { _ = wordUntilComma(&c) }
        }
        return .smtpd(.client(line))
    }

    @inline(__always)
    private func wordUntilComma(_ c: inout Cursor) -> Span {
        let s = c.pos
        if let i = c.find(", ") { c.pos = i } else { c.pos = c.end }
        return Span(from: s, to: c.pos)
    }

    /// `ehlo=2 starttls=1 auth=0/1 mail=1 rcpt=1 data=1 quit=1 commands=8/9`
    func counters(_ c0: Cursor) -> CommandCounters {
        var c = c0
        var k = CommandCounters()
        k.text = c.rest
        while !c.isAtEnd {
            c.skipSpaces()
            let keyStart = c.pos
            guard let eq = c.find(UInt8(ascii: "=")) else { break }
            let key = Span(from: keyStart, to: eq)
            c.pos = eq + 1
            let ok = Int32(truncatingIfNeeded: c.integer() ?? 0)
            var total = ok
            if c.skip(byte: UInt8(ascii: "/")) { total = Int32(truncatingIfNeeded: c.integer() ?? 0) }
            if c.span(key, equals: "auth") { k.authSuccess = ok; k.authAttempts = total }
            else if c.span(key, equals: "commands") { k.commandsSuccess = ok; k.commandsTotal = total }
            else if c.span(key, equals: "mail") { k.mail = ok }
            else if c.span(key, equals: "rcpt") { k.rcpt = ok }
            else if c.span(key, equals: "data") || c.span(key, equals: "bdat") { k.data += ok }
            _ = c.word()
        }
        return k
    }

    /// `reject: ...`, `hold: ...`, `discard: ...`, `filter: ...`, `redirect: ...`, `warn: ...` and `info: ...`.
    func rejectLike(queueID q: QueueID?, _ c0: Cursor) -> Payload? {
        var c = c0
        let start = c.pos
        while let b = c.peek(), b != UInt8(ascii: ":"), b != UInt8(ascii: " ") { c.advance() }
        let w = Span(from: start, to: c.pos)
        guard c.peek() == UInt8(ascii: ":") else { return nil }
        let action: RejectAction
        if c.span(w, equals: "reject") { action = .reject }
        else if c.span(w, equals: "defer") { action = .defer }
        else if c.span(w, equals: "hold") { action = .hold }
        else if c.span(w, equals: "discard") { action = .discard }
        else if c.span(w, equals: "filter") { action = .filter }
        else if c.span(w, equals: "redirect") { action = .redirect }
        else if c.span(w, equals: "warn") { action = .warn }
        else if c.span(w, equals: "info") { action = .info }
        else if c.span(w, equals: "bcc") { action = .bcc }
        else if c.span(w, equals: "defer_if_permit") { action = .deferIfPermit }
        else if c.span(w, equals: "defer_if_reject") { action = .deferIfReject }
        else { return nil }
        guard case .reject(var r) = parseReject(queueID: q, c0) else { return nil }
        r.action = action
        return .reject(r)
    }

    /// `reject: RCPT from host[ip]: 554 5.7.1 <addr>: reason; from=<> to=<> proto=X helo=<>`.
    func parseReject(queueID q: QueueID?, _ c0: Cursor) -> Payload {
        var c = c0
        guard c.take(until: ": ") != nil else { return .unsupported }
        let stageStart = c.pos
        guard let fromAt = c.find(" from ") else { return .unsupported }
        let stage = Span(from: stageStart, to: fromAt)
        c.pos = fromAt + 6
        var client: Peer
        if let p = peer(&c) { client = p } else {
            // `from local`
            client = Peer(host: wordUntilCommaOrSpace(&c), ip: .empty)
        }
        _ = c.skip(byte: UInt8(ascii: ":"))
        c.skipSpaces()
        let code = replyCode(&c)
        c.skipSpaces()
        let d = dsn(&c)
        c.skipSpaces()
        var address: Span? = nil
        if c.peek() == UInt8(ascii: "<") {
            var t = c
            t.advance()
            if let a = t.take(until: ">: ") { address = a; c = t }
        }
        // The tail begins at the last `; from=<` (or `, from=<` in postscreen); the reason is before it.
        let tailStart = c.findLast("; from=<") ?? c.findLast(", from=<") ?? c.findLast("; to=<") ?? c.findLast("; proto=")
        let reason = Span(from: c.pos, to: tailStart ?? c.end)
        var r = Reject(queueID: q, action: .reject, stage: stage, client: client, code: code, dsn: d,
                       address: address, reason: reason, from: nil, to: nil, proto: nil, helo: nil)
        if let ts = tailStart {
            var t = c
            t.pos = ts + 2
            let tail = envelopeTail(t)
            r.from = tail.from
            r.to = tail.to
            r.proto = tail.proto
            r.helo = tail.helo
        }
        return .reject(r)
    }
}
