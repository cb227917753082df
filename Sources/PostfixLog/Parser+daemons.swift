extension Parser {
    // MARK: qmgr

    func parseQmgr(_ c0: Cursor) -> Payload {
        var c = c0
        guard let q = queueID(&c) else {
            return diagnostic(c0) ?? .unsupported
        }
        if c.skip("removed") { return .removed(q) }
        if c.skip("from=") {
            let from = address(&c)
            if c.skip(", size=") {
                guard let size = c.integer(), c.skip(", nrcpt="), let n = c.integer() else { return .unsupported }
                return .queueActive(QueueActive(queueID: q, from: from, size: Int64(size), nrcpt: Int32(truncatingIfNeeded: n)))
            }
            if c.skip(", status=expired") { return .expired(queueID: q, from: from, force: false) }
            if c.skip(", status=force-expired") { return .expired(queueID: q, from: from, force: true) }
            return .unsupported
        }
        if c.starts(with: "to=") { return parseDelivery(queueID: q, c) ?? .unsupported }
        if c.skip("skipped, still being delivered") || c.skip("skipped") { return .qmgrNote(queueID: q, text: c0.rest) }
        if let d = diagnostic(c, queueID: q) { return d }
        return .unsupported
    }

    // MARK: cleanup

    func parseCleanup(_ c0: Cursor) -> Payload {
        var c = c0
        guard let q = queueID(&c) else { return diagnostic(c0) ?? .unsupported }
        if c.skip("message-id=") { return messageID(q, c, resent: false) }
        if c.skip("resent-message-id=") { return messageID(q, c, resent: true) }
        if let d = diagnostic(c, queueID: q) {
            // header_checks WARN is logged as `QID: warning: header ...`
            var t = c
            _ = t.skip("warning: ")
            if t.starts(with: "header ") || t.starts(with: "body ") || t.starts(with: "mime-header ") {
                return cleanupCheck(q, .warning, t, c0)
            }
            return d
        }
        // `QID: reject: header ...`, `QID: milter-reject: END-OF-MESSAGE from ...`
        let start = c.pos
        while let b = c.peek(), b != UInt8(ascii: ":"), b != UInt8(ascii: " ") { c.advance() }
        let word = Span(from: start, to: c.pos)
        guard c.skip(": "), let action = cleanupAction(c, word) else {
            // Some cleanups log `QID: ...` notes we know.
            return .unsupported
        }
        return cleanupCheck(q, action, c, c0)
    }

    private func cleanupAction(_ c: Cursor, _ w: Span) -> CleanupAction? {
        switch Int(w.count) {
        case 4: if c.span(w, equals: "hold") { return .hold }; if c.span(w, equals: "info") { return .info }
        case 5: if c.span(w, equals: "strip") { return .strip }
        case 6:
            if c.span(w, equals: "reject") { return .reject }
            if c.span(w, equals: "filter") { return .filter }
        case 7:
            if c.span(w, equals: "discard") { return .discard }
            if c.span(w, equals: "replace") { return .replace }
            if c.span(w, equals: "prepend") { return .prepend }
            if c.span(w, equals: "warning") { return .warning }
        case 8: if c.span(w, equals: "redirect") { return .redirect }
        case 3: if c.span(w, equals: "bcc") { return .bcc }
        case 11: if c.span(w, equals: "milter-hold") { return .milterHold }
        case 13: if c.span(w, equals: "milter-reject") { return .milterReject }
        case 14: if c.span(w, equals: "milter-discard") { return .milterDiscard }
        case 15: if c.span(w, equals: "milter-redirect") { return .milterRedirect }
        case 22: if c.span(w, equals: "milter-header-redirect") { return .milterHeaderRedirect }
        default: break
        }
        if c.span(w, equals: "milter-info") { return .milterInfo }
        return nil
    }

    /// `header NAME: value from host[ip]; from=<> to=<> proto=X helo=<>: optional text` or
    /// `END-OF-MESSAGE from host[ip]: 5.7.1 reason; from=<> to=<> proto=X helo=<>`.
    private func cleanupCheck(_ q: QueueID, _ action: CleanupAction, _ c0: Cursor, _ whole: Cursor) -> Payload {
        var c = c0
        var ev = CleanupEvent(queueID: q, action: action, what: .empty, text: .empty, client: nil, clientText: nil,
                              code: nil, dsn: nil, reason: nil, from: nil, to: nil, proto: nil, helo: nil)
        let isCheck = c.starts(with: "header ") || c.starts(with: "body ") || c.starts(with: "mime-header ")
            || c.starts(with: "nested-header ")
        let whatStart = c.pos
        _ = c.word()
        ev.what = Span(from: whatStart, to: c.pos)
        c.skipSpaces()
        // The envelope tail starts at the last `; from=` (or `; to=`/`; proto=`).
        let tailStart = c.findLast("; from=") ?? c.findLast("; to=") ?? c.findLast("; proto=")
        // The client is the last ` from ` before the tail.
        let limit = tailStart ?? c.end
        var fromAt: Int? = nil
        var k = c.pos
        var scan = c
        scan.end = limit
        while let i = scan.find(" from ") { fromAt = i; k = i + 6; scan.pos = k }
        if c.starts(with: "from "), fromAt == nil || !isCheck { fromAt = c.pos - 1 }
        if let f = fromAt {
            ev.text = Span(from: c.pos, to: max(c.pos, f))
            var t = c
            t.pos = f + 6
            t.end = limit
            let clientStart = t.pos
            if let p = peer(&t) {
                ev.client = p
                ev.clientText = Span(from: clientStart, to: t.pos)
            } else {
                // `from local`
                let w = t.word()
                ev.clientText = w
            }
            if !isCheck, t.skip(": ") {
                ev.code = replyCode(&t)
                ev.dsn = dsn(&t)
                t.skipSpaces()
                ev.reason = t.rest
            }
        } else {
            ev.text = Span(from: c.pos, to: limit)
        }
        if let ts = tailStart {
            var t = c
            t.pos = ts + 2
            let tail = envelopeTail(t)
            ev.from = tail.from
            ev.to = tail.to
            ev.proto = tail.proto
            ev.helo = tail.helo
        }
        _ = whole
        return .cleanup(ev)
    }

    private func messageID(_ q: QueueID, _ c0: Cursor, resent: Bool) -> Payload {
        var c = c0
        var kind = MessageIDKind.valid
        var id: Span
        if c.skip(byte: UInt8(ascii: "<")) {
            if c.ends(with: ">") {
                id = Span(from: c.pos, to: c.end - 1)
            } else {
                id = c.rest
                kind = .corrupted
            }
            if id.count == 0 { kind = .empty }
            else {
                // Spaces or a second `<` inside make it corrupted.
                var t = c.sub(id)
                if t.find(UInt8(ascii: " ")) != nil || t.find(UInt8(ascii: "<")) != nil { kind = .corrupted }
                _ = t.skip("")
            }
        } else {
            id = c.rest
            kind = id.count == 0 ? .empty : .corrupted
        }
        if resent { return .resentMessageID(queueID: q, messageID: id) }
        return .messageID(queueID: q, messageID: id, kind: kind)
    }

    // MARK: bounce

    func parseBounce(_ c0: Cursor) -> Payload {
        var c = c0
        guard let q = queueID(&c) else { return diagnostic(c0) ?? .unsupported }
        if let d = diagnostic(c, queueID: q) { return d }
        let kind: NotificationKind
        if c.skip("sender non-delivery notification: ") { kind = .nonDelivery }
        else if c.skip("sender delay notification: ") { kind = .delay }
        else if c.skip("sender delivery status notification: ") { kind = .success }
        else if c.skip("postmaster non-delivery notification: ") { kind = .postmasterNonDelivery }
        else if c.skip("postmaster delay notification: ") { kind = .postmasterDelay }
        else if let i = c.find(" notification: ") { c.pos = i + 15; kind = .other }
        else { return .unsupported }
        guard let n = bareQueueID(&c) else { return .unsupported }
        return .notification(queueID: q, kind: kind, newQueueID: n)
    }

    // MARK: pickup

    func parsePickup(_ c0: Cursor) -> Payload {
        var c = c0
        guard let q = queueID(&c) else { return diagnostic(c0) ?? .unsupported }
        if c.skip("uid=") {
            guard let uid = c.integer() else { return .unsupported }
            c.skipSpaces()
            guard c.skip("from=") else { return .unsupported }
            return .pickup(queueID: q, uid: Int32(truncatingIfNeeded: uid), from: address(&c))
        }
        if c.skip("sender=") { return .pickup(queueID: q, uid: -1, from: address(&c)) }
        return diagnostic(c, queueID: q) ?? .unsupported
    }

    // MARK: master

    func parseMaster(_ c0: Cursor) -> Payload {
        var c = c0
        if c.skip("daemon started -- version ") { return .master(.started(version: versionWord(&c))) }
        if c.skip("reload -- version ") { return .master(.reload(version: versionWord(&c))) }
        if c.skip("terminating on signal ") {
            return .master(.terminating(signal: Int32(truncatingIfNeeded: c.integer() ?? 0)))
        }
        if let d = diagnostic(c0) { return d }
        if c.skip("reload") || c.skip("daemon started") || c.skip("terminating") || c.skip("stopping") {
            return .master(.other(c0.rest))
        }
        return .unsupported
    }

    private func versionWord(_ c: inout Cursor) -> Span {
        let s = c.pos
        while let b = c.peek(), b != UInt8(ascii: ","), b != UInt8(ascii: " ") { c.advance() }
        return Span(from: s, to: c.pos)
    }

    // MARK: postsuper

    func parsePostsuper(_ c0: Cursor) -> Payload {
        var c = c0
        if let q = queueID(&c) {
            if c.skip("removed") { return .postsuper(queueID: q, action: .removed, count: nil) }
            if c.skip("requeued") { return .postsuper(queueID: q, action: .requeued, count: nil) }
            if c.skip("placed on hold") { return .postsuper(queueID: q, action: .held, count: nil) }
            if c.skip("released from hold") { return .postsuper(queueID: q, action: .released, count: nil) }
            if c.skip("force-expired") { return .postsuper(queueID: q, action: .expired, count: nil) }
            return diagnostic(c, queueID: q) ?? .unsupported
        }
        let action: PostsuperAction
        if c.skip("Deleted: ") { action = .removed }
        else if c.skip("Requeued: ") { action = .requeued }
        else if c.skip("Placed on hold: ") { action = .held }
        else if c.skip("Released from hold: ") { action = .released }
        else if c.skip("Force-expired: ") { action = .expired }
        else { return diagnostic(c0) ?? .unsupported }
        return .postsuper(queueID: nil, action: action, count: c.integer().map { Int32(truncatingIfNeeded: $0) })
    }

    // MARK: anvil, scache

    func parseStatistics(_ c0: Cursor) -> Payload {
        var c = c0
        if c.skip("statistics: ") { return .statistics(c.rest) }
        return diagnostic(c0) ?? .unsupported
    }

    // MARK: dnsblog

    func parseDnsblog(_ c0: Cursor) -> Payload {
        var c = c0
        if c.skip("addr ") {
            let ip = c.word()
            guard c.skip(" listed by domain ") else { return .unsupported }
            let domain = c.word()
            guard c.skip(" as ") else { return .unsupported }
            return .dnsblog(ip: ip, domain: domain, result: c.rest)
        }
        return diagnostic(c0) ?? .unsupported
    }

    // MARK: postscreen

    func parsePostscreen(_ c0: Cursor) -> Payload {
        var c = c0
        if let d = diagnostic(c0) { return d }
        let action: PostscreenAction
        if c.skip("CONNECT from ") { action = .connect }
        else if c.skip("PASS NEW ") { action = .passNew }
        else if c.skip("PASS OLD ") { action = .passOld }
        else if c.skip("DNSBL rank ") {
            let rank = c.integer().map { Int32(truncatingIfNeeded: $0) }
            guard c.skip(" for ") else { return .unsupported }
            var ev = postscreenAddress(.dnsblRank, &c)
            ev?.rank = rank
            return ev.map { .postscreen($0) } ?? .unsupported
        }
        else if c.skip("PREGREET ") { return postscreenAfterFrom(.pregreet, c) }
        else if c.skip("HANGUP ") { return postscreenAfterFrom(.hangup, c) }
        else if c.skip("COMMAND PIPELINING ") { return postscreenAfterFrom(.commandPipelining, c) }
        else if c.skip("COMMAND TIME LIMIT ") { return postscreenAfterFrom(.commandTimeLimit, c) }
        else if c.skip("COMMAND COUNT LIMIT ") { return postscreenAfterFrom(.commandCountLimit, c) }
        else if c.skip("COMMAND LENGTH LIMIT ") { return postscreenAfterFrom(.commandLengthLimit, c) }
        else if c.skip("NON-SMTP COMMAND ") { return postscreenAfterFrom(.nonSMTPCommand, c) }
        else if c.skip("BARE NEWLINE ") { return postscreenAfterFrom(.bareNewline, c) }
        else if c.skip("DISCONNECT ") { action = .disconnect }
        else if c.skip("WHITELISTED ") || c.skip("ALLOWLISTED ") { action = .allowlisted }
        else if c.skip("BLACKLISTED ") || c.skip("DENYLISTED ") { action = .denylisted }
        else if c.skip("WHITELIST VETO ") || c.skip("ALLOWLIST VETO ") { action = .allowlistVeto }
        else if c.skip("NOQUEUE: ") {
            guard case .reject(let r) = parseReject(queueID: nil, c) else { return .unsupported }
            return .postscreen(PostscreenEvent(action: .reject, ip: r.client.ip, port: r.client.port, detail: r.reason,
                                               rank: nil, reject: r))
        }
        else if c.skip("cache ") { return .postscreen(PostscreenEvent(action: .cacheCleanup, ip: .empty, port: nil, detail: c0.rest)) }
        else { return .unsupported }
        return postscreenAddress(action, &c).map { .postscreen($0) } ?? .unsupported
    }

    /// `[ip]:port` then the rest as detail.
    private func postscreenAddress(_ action: PostscreenAction, _ c: inout Cursor) -> PostscreenEvent? {
        guard c.skip(byte: UInt8(ascii: "[")), let ip = c.take(until: UInt8(ascii: "]")) else { return nil }
        var port: Int32? = nil
        if c.skip(byte: UInt8(ascii: ":")) { port = c.integer().map { Int32(truncatingIfNeeded: $0) } }
        c.skipSpaces()
        return PostscreenEvent(action: action, ip: ip, port: port, detail: c.rest)
    }

    /// `6 after 1.2 from [ip]:port: RSET`, `after 63 from [ip]:port in tests ...`, `from [ip]:port after X`.
    private func postscreenAfterFrom(_ action: PostscreenAction, _ c0: Cursor) -> Payload {
        var c = c0
        guard let i = c.find("from [") else { return .unsupported }
        c.pos = i + 5
        guard var ev = postscreenAddress(action, &c) else { return .unsupported }
        var d = c
        _ = d.skip(": ")
        ev.detail = d.pos < d.end ? d.rest : Span(from: c0.pos, to: i)
        return .postscreen(ev)
    }
}
