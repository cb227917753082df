extension Parser {
    func parseDeliveryAgent(_ c0: Cursor) -> Payload {
        var c = c0
        if let q = queueID(&c) {
            if c.starts(with: "to=") { return parseDelivery(queueID: q, c) ?? .unsupported }
            if let d = diagnostic(c, queueID: q) { return d }
            // `QID: lost connection with host[ip] while ...`, `conversation with ... timed out while ...`,
            // `host X said: ...` (a reply without a delivery status: the delivery line follows).
            if c.skip("lost connection with ") || c.skip("conversation with ") || c.skip("host ")
                || c.skip("SASL authentication failed; server ")
                || c.skip("SMTPUTF8 is required") || c.skip("Server certificate not") {
                var t = c
                let p = peer(&t)
                return .conversationError(queueID: q, peer: p, reason: c0.rest)
            }
            if c.skip("enabling PIX workarounds") || c.skip("breaking line") || c.skip("sender=")
                || c.skip("TLS is required") || c.skip("client=") {
                return .note(c0.rest)
            }
            return .unsupported
        }
        if let d = diagnostic(c) { return d }
        if c.skip("connect to ") {
            var t = c
            if let p = peer(&t), t.skip(": ") { return .connectFailure(peer: p, reason: t.rest) }
            // `connect to subsystem private/lmtp: No such file or directory`
            return .connectFailure(peer: Peer(host: c.rest, ip: .empty), reason: c.rest)
        }
        if let tls = tlsEstablished(c) { return .tls(tls) }
        if c.skip("SSL_connect error to ") || c.skip("host ") || c.skip("lost connection with ")
            || c.skip("conversation with ") || c.skip("certificate verification failed for ")
            || c.skip("server certificate verification failed for ") || c.skip("untrusted issuer") {
            var t = c
            return .conversationError(queueID: nil, peer: peer(&t), reason: c0.rest)
        }
        if c.skip("discarding EHLO keywords: ") || c.skip("Host offered STARTTLS") || c.skip("enabling PIX")
            || c.skip("setting up TLS connection to ") || c.skip("TLS library problem") || c.skip("Untrusted TLS")
            || c.skip("Anonymous TLS") || c.skip("server features") || c.skip("certificate") {
            return .note(c0.rest)
        }
        return .unsupported
    }

    /// `to=<a>, orig_to=<b>, relay=..., conn_use=N, delay=N, delays=a/b/c/d, dsn=x.y.z, status=S (reply)`
    func parseDelivery(queueID q: QueueID, _ c0: Cursor) -> Payload? {
        var c = c0
        guard c.skip("to=") else { return nil }
        let to = address(&c)
        var origTo: Span? = nil
        var relay = Relay(kind: .none, text: .empty, host: .empty)
        var connUse: Int32? = nil
        var delay: Double? = nil
        var delays: Delays? = nil
        var dsnValue: DSN? = nil
        var status: DeliveryStatus? = nil
        var reply = Span.empty
        while !c.isAtEnd {
            _ = c.skip(byte: UInt8(ascii: ","))
            c.skipSpaces()
            guard let b = c.peek() else { break }
            switch b {
            case UInt8(ascii: "o"):
                if c.skip("orig_to=") { origTo = address(&c); continue }
            case UInt8(ascii: "r"):
                if c.skip("relay=") { relay = parseRelay(&c); continue }
            case UInt8(ascii: "c"):
                if c.skip("conn_use=") { connUse = c.integer().map { Int32(truncatingIfNeeded: $0) }; continue }
            case UInt8(ascii: "d"):
                if c.skip("delays=") {
                    var t = c
                    if let a = t.decimal(), t.skip(byte: UInt8(ascii: "/")), let b2 = t.decimal(), t.skip(byte: UInt8(ascii: "/")),
                       let c2 = t.decimal(), t.skip(byte: UInt8(ascii: "/")), let d2 = t.decimal() {
                        delays = Delays(beforeQueue: a, inQueue: b2, connection: c2, transmission: d2)
                        c = t
                    }
                    continue
                }
                if c.skip("delay=") { delay = c.decimal(); continue }
                if c.skip("dsn=") { dsnValue = dsn(&c); continue }
            case UInt8(ascii: "s"):
                if c.skip("status=") {
                    let w = statusWord(&c)
                    status = deliveryStatus(c, w)
                    c.skipSpaces()
                    if c.skip(byte: UInt8(ascii: "(")) {
                        var e = c.end
                        if c.byte(at: e - 1) == UInt8(ascii: ")") { e -= 1 }
                        reply = Span(from: c.pos, to: max(c.pos, e))
                    } else {
                        reply = c.rest
                    }
                    c.pos = c.end
                    continue
                }
            default:
                break
            }
            // Unknown key: skip to the next ", ".
            guard let next = c.find(", ") else { break }
            c.pos = next
        }
        guard let st = status else { return nil }
        var d = Delivery(queueID: q, to: to, origTo: origTo, relay: relay, connUse: connUse, delay: delay,
                         delays: delays, dsn: dsnValue, status: st, reply: reply, queuedAs: nil, viaFilter: false,
                         remoteID: nil, replyCode: nil)
        analyseReply(&d, c0)
        return .delivery(d)
    }

    @inline(__always)
    func statusWord(_ c: inout Cursor) -> Span {
        let start = c.pos
        while let b = c.peek(), b != UInt8(ascii: " "), b != UInt8(ascii: ",") { c.advance() }
        return Span(from: start, to: c.pos)
    }

    func deliveryStatus(_ c: Cursor, _ w: Span) -> DeliveryStatus? {
        if c.span(w, equals: "sent") { return .sent }
        if c.span(w, equals: "deferred") { return .deferred }
        if c.span(w, equals: "bounced") { return .bounced }
        if c.span(w, equals: "expired") { return .expired }
        if c.span(w, equals: "undeliverable") { return .undeliverable }
        if c.span(w, equals: "deliverable") { return .deliverable }
        if c.span(w, equals: "undeliverable-but-not-cached") { return .undeliverableNotCached }
        if c.span(w, equals: "SOFTBOUNCE") { return .softBounce }
        return nil
    }

    /// `none`, `local`, `host[ip]:port`, `host[/path/to/socket]`, `dovecot` (a transport name).
    func parseRelay(_ c: inout Cursor) -> Relay {
        let start = c.pos
        while let b = c.peek(), b != UInt8(ascii: ","), b != UInt8(ascii: " ") { c.advance() }
        let text = Span(from: start, to: c.pos)
        if c.span(text, equals: "none") { return Relay(kind: .none, text: text, host: text) }
        if c.span(text, equals: "local") { return Relay(kind: .local, text: text, host: text) }
        var t = c.sub(text)
        if let p = peer(&t) {
            let isPath = p.ip.count > 0 && (c.byte(at: Int(p.ip.start)) == UInt8(ascii: "/")
                || c.sub(p.ip).find(UInt8(ascii: "/")) != nil)
            return Relay(kind: isPath ? .path : .host, text: text, host: p.host, address: p.ip, port: p.port)
        }
        return Relay(kind: .name, text: text, host: text)
    }

    /// Finds `queued as X`, the amavis `from MTA(...)` form and remote ids in the reply.
    func analyseReply(_ d: inout Delivery, _ c0: Cursor) {
        let r = c0.sub(d.reply)
        guard !r.isAtEnd else { return }
        var t = r
        if let code = replyCode(&t) { d.replyCode = code }
        else if let said = r.find(" said: ") {
            var u = r
            u.pos = said + 7
            d.replyCode = replyCode(&u)
        }
        if d.status == .sent {
            if let i = r.find("queued as ") {
                var u = r
                u.pos = i + 10
                if let q = bareQueueID(&u) {
                    d.queuedAs = q
                    d.remoteID = q
                }
            }
            if r.find("from MTA(") != nil { d.viaFilter = true }
            if d.remoteID == nil {
                if let i = r.find(" id=") {
                    var u = r
                    u.pos = i + 4
                    let w = u.word()
                    if w.count > 0 { d.remoteID = w }
                } else if r.ends(with: " - gsmtp") {
                    // `250 2.0.0 OK  1591180859 r16si1230481edy.367 - gsmtp`
                    var e = r.end - 8
                    let stop = e
                    while e > r.pos, r.byte(at: e - 1) != UInt8(ascii: " ") { e -= 1 }
                    if stop > e { d.remoteID = Span(from: e, to: stop) }
                } else if let i = r.find("InternalId=") {
                    var u = r
                    u.pos = i + 11
                    let s = u.pos
                    while let b = u.peek(), b != UInt8(ascii: "]"), b != UInt8(ascii: ",") { u.advance() }
                    if u.pos > s { d.remoteID = Span(from: s, to: u.pos) }
                } else if d.replyCode == 250, let code = d.replyCode, code > 0 {
                    // `250 2.0.0 6FVIjIMwUJwU66FVIjAEB0 mail accepted for delivery`, `250 Ok: id`
                    var u = r
                    _ = replyCode(&u)
                    _ = dsn(&u)
                    u.skipSpaces()
                    if u.skip("<") {
                        // Microsoft: `250 2.6.0 <msgid> [InternalId=...]` handled above; a lone <msgid>.
                    } else {
                        _ = u.skip("Ok: ") || u.skip("OK: ") || u.skip("ok ")
                        let w = u.word()
                        var hasDigit = false, len = 0
                        var k = Int(w.start)
                        while k < w.end { if isDigit(u.byte(at: k)) { hasDigit = true }; k += 1; len += 1 }
                        if hasDigit, len >= 8 { d.remoteID = w }
                    }
                }
            }
        }
    }

    /// `Trusted TLS connection established to host[ip]:25: TLSv1.2 with cipher X (256/256 bits)` and the
    /// incoming `Anonymous TLS connection established from host[ip]: ...`.
    func tlsEstablished(_ c0: Cursor) -> TLSEstablished? {
        var c = c0
        let trustStart = c.pos
        let w = c.word()
        guard w.count > 0, c.skip(" TLS connection established ") else { return nil }
        let direction: TLSDirection
        if c.skip("to ") { direction = .outgoing } else if c.skip("from ") { direction = .incoming } else { return nil }
        guard let p = peer(&c), c.skip(": ") else { return nil }
        let proto = c.word()
        c.skipSpaces()
        var cipher = Span.empty
        if c.skip("with cipher ") { cipher = c.word() }
        _ = trustStart
        return TLSEstablished(direction: direction, trust: w, peer: p, proto: proto, cipher: cipher)
    }
}
