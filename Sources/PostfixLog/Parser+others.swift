extension Parser {
    // MARK: Postfix daemons with little to track

    func parseMiscPostfix(_ daemon: Daemon, _ c0: Cursor) -> Payload {
        var c = c0
        var qid: QueueID? = nil
        if let q = queueID(&c) { qid = q }
        if let d = diagnostic(c, queueID: qid) { return d }
        switch daemon {
        case .postfixScript:
            return .postfixScript(c0.rest)
        case .postfix:
            // `postfix[123]: Postfix is running with backwards-compatible default settings`, `See http://...`,
            // `To disable backwards compatibility use ...`, `Postfix is using backwards-compatible ...`
            if c.isAtEnd { return .unsupported }
            return .note(c0.rest)
        case .tlsproxy, .verify, .trivialRewrite, .tlsmgr, .proxymap, .flush, .showq, .spawn, .postlog,
             .postmap, .postalias, .postconf, .postmulti, .postqueue, .postkick, .postlock, .postcat:
            if c.isAtEnd { return .unsupported }
            return .note(c0.rest)
        case .sendmail, .postdrop:
            if c.isAtEnd { return .unsupported }
            return .submission(c0.rest)
        default:
            return .unsupported
        }
    }

    // MARK: Dovecot

    func parseDovecot(_ c0: Cursor) -> Payload {
        var c = c0
        // `dovecot: imap-login: ...`: the first `name: ` is the service.
        var service = Span.empty
        do {
            var t = c
            let s = t.pos
            while let b = t.peek(), b != UInt8(ascii: " "), b != UInt8(ascii: ":") { t.advance() }
            if t.peek() == UInt8(ascii: ":"), t.pos > s {
                service = Span(from: s, to: t.pos)
                t.advance()
                t.skipSpaces()
                c = t
            }
        }
        _ = c.skip("Info: ")
        // Login processes: `Disconnected (auth failed, 1 attempts in 6 secs): user=<u>, method=PLAIN, rip=..., lip=...`
        if let af = c.find("(auth failed") {
            var a = DovecotAuthFailure(service: service, user: nil, method: nil, remoteIP: nil, localIP: nil,
                                       attempts: nil, reason: Span(from: af + 1, to: af + 12))
            var t = c
            t.pos = af + 12
            if t.skip(", ") { a.attempts = t.integer().map { Int32(truncatingIfNeeded: $0) } }
            loginFields(c, &a)
            return .dovecot(.authFailure(a))
        }
        for reason in [("tried to use disabled plaintext auth" as StaticString), "tried to use disallowed plaintext auth",
                       "proxy dest auth failed", "tried to use disallowed"] {
            if let i = c.find(reason) {
                var a = DovecotAuthFailure(service: service, user: nil, method: nil, remoteIP: nil, localIP: nil,
                                           attempts: nil, reason: Span(start: i, count: reason.utf8CodeUnitCount))
                loginFields(c, &a)
                return .dovecot(.authFailure(a))
            }
        }
        if c.skip("Login: ") {
            var a = DovecotAuthFailure(service: service, user: nil, method: nil, remoteIP: nil, localIP: nil, attempts: nil,
                                       reason: .empty)
            loginFields(c, &a)
            return .dovecot(.login(service: service, user: a.user, remoteIP: a.remoteIP, localIP: a.localIP))
        }
        if c.find("(no auth attempts") != nil || c.find("(disconnected before auth") != nil
            || c.find("(client didn't finish SASL auth") != nil || c.find("(disconnected during TLS handshake") != nil {
            var a = DovecotAuthFailure(service: service, user: nil, method: nil, remoteIP: nil, localIP: nil, attempts: nil,
                                       reason: .empty)
            loginFields(c, &a)
            return .dovecot(.disconnectNoAuth(service: service, remoteIP: a.remoteIP))
        }
        // Authentication back ends: `pam(user,ip): unknown user`, `sql(user,ip,<sess>): Password mismatch`.
        for reason in [("unknown user" as StaticString), "Password mismatch", "password mismatch", "pam_authenticate() failed",
                       "invalid credentials", "Authentication failure", "User not known"] {
            if let i = c.find(reason) {
                var a = DovecotAuthFailure(service: service, user: nil, method: nil, remoteIP: nil, localIP: nil,
                                           attempts: nil, reason: Span(from: i, to: c.end))
                authUserIP(c0, before: i, &a)
                return .dovecot(.authFailure(a))
            }
        }
        // PAM: `pam_unix(dovecot:auth): authentication failure; logname= uid=0 ... ruser=X rhost=IP  user=Y`
        if let i = c.find("authentication failure;") {
            var a = DovecotAuthFailure(service: service, user: nil, method: nil, remoteIP: nil, localIP: nil,
                                       attempts: nil, reason: Span(start: i, count: 22))
            var t = c
            t.pos = i
            if let r = t.find(" rhost=") { var u = t; u.pos = r + 7; let w = u.word(); if w.count > 0 { a.remoteIP = w } }
            if let r = t.find(" user=") { var u = t; u.pos = r + 6; let w = u.word(); if w.count > 0 { a.user = w } }
            else if let r = t.find(" ruser=") { var u = t; u.pos = r + 7; let w = u.word(); if w.count > 0 { a.user = w } }
            return .dovecot(.authFailure(a))
        }
        if let i = c.find("policy server refusal") ?? c.find("Policy server request") ?? c.find("policy(") {
            return .dovecot(.policyRefused(Span(from: i, to: c.end)))
        }
        if let i = c.find(": saved mail to ") {
            // `lmtp(user@x)<pid><sess>: msgid=<id>: saved mail to INBOX`
            var user = Span.empty
            var t = c0
            if t.skip("lmtp("), let u = t.take(until: UInt8(ascii: ")")) { user = u }
            var msgid: Span? = nil
            if let m = c.find("msgid=<") {
                var u = c
                u.pos = m + 7
                msgid = u.take(until: ">: ")
            }
            var rest = c
            rest.pos = i + 16
            return .dovecot(.lmtpSaved(user: user, messageID: msgid, mailbox: rest.rest))
        }
        return .dovecot(.other(c0.rest))
    }

    /// `user=<u>, method=PLAIN, rip=1.2.3.4, lip=5.6.7.8, ...`
    private func loginFields(_ c: Cursor, _ a: inout DovecotAuthFailure) {
        if let i = c.find("user=<") {
            var t = c
            t.pos = i + 6
            if let u = t.take(until: UInt8(ascii: ">")), u.count > 0 { a.user = u }
        }
        if let i = c.find("method=") { var t = c; t.pos = i + 7; a.method = wordUntilCommaOrSpace(&t) }
        if let i = c.find("rip=") { var t = c; t.pos = i + 4; a.remoteIP = wordUntilCommaOrSpace(&t) }
        if let i = c.find("lip=") { var t = c; t.pos = i + 4; a.localIP = wordUntilCommaOrSpace(&t) }
    }

    /// The last `name(user,ip[,...])` group before `limit`.
    private func authUserIP(_ c: Cursor, before limit: Int, _ a: inout DovecotAuthFailure) {
        var i = c.pos
        var found: (Span, Span)? = nil
        while i < limit {
            if c.byte(at: i) == UInt8(ascii: "("), i > c.pos, isAlnum(c.byte(at: i - 1)) || c.byte(at: i - 1) == UInt8(ascii: "-") {
                var t = c
                t.pos = i + 1
                t.end = limit
                if let close = t.find(UInt8(ascii: ")")) {
                    var inner = t
                    inner.end = close
                    if let comma = inner.find(UInt8(ascii: ",")) {
                        let user = Span(from: inner.pos, to: comma)
                        inner.pos = comma + 1
                        let ipEnd = inner.find(UInt8(ascii: ",")) ?? close
                        found = (user, Span(from: inner.pos, to: ipEnd))
                    }
                    i = close
                }
            }
            i += 1
        }
        if let (u, ip) = found {
            if u.count > 0 { a.user = u }
            if ip.count > 0 { a.remoteIP = ip }
        }
    }

    // MARK: amavis

    func parseAmavis(_ c0: Cursor) -> Payload {
        var c = c0
        // `(02279-04) Passed CLEAN {RelayedOpenRelay}, ... Queue-ID: X, Message-ID: <id>, ..., queued_as: Y, 80 ms`
        if c.skip(byte: UInt8(ascii: "(")) { _ = c.take(until: ") ") }
        var ev = AmavisEvent(result: .other, category: .empty, queueID: nil, queuedAs: nil, messageID: nil)
        if c.skip("Passed ") { ev.result = .passed } else if c.skip("Blocked ") { ev.result = .blocked }
        if ev.result != .other {
            let s = c.pos
            while let b = c.peek(), b != UInt8(ascii: " "), b != UInt8(ascii: ",") { c.advance() }
            ev.category = Span(from: s, to: c.pos)
        }
        if let i = c.find("Queue-ID: ") { var t = c; t.pos = i + 10; ev.queueID = bareQueueID(&t) }
        if let i = c.find("Message-ID: <") { var t = c; t.pos = i + 13; ev.messageID = t.take(until: UInt8(ascii: ">")) }
        if let i = c.find("queued_as: ") { var t = c; t.pos = i + 11; ev.queuedAs = bareQueueID(&t) }
        return .amavis(ev)
    }

    // MARK: opendkim, opendmarc, policyd-spf, postgrey, spamd

    func parseFilter(_ daemon: Daemon, _ c0: Cursor) -> Payload {
        var c = c0
        let q = queueID(&c)
        return .filterNote(daemon: daemon, queueID: q, text: c.rest)
    }

    func parseOther(_ c0: Cursor) -> Payload {
        .unsupported
    }
}
