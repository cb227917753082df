import PostfixLog
import Testing

@Suite struct DeliveryTests {
    /// A DSN's text, written digit by digit, is what interpolation writes, for every class, subject
    /// and detail (the largest three-digit ones and the type's limits too).
    @Test func dsnDescriptions() {
        for k: UInt8 in [0, 2, 4, 5, 9, 10, 99, 255] {
            for s: UInt16 in [0, 1, 7, 9, 10, 99, 100, 999, 65535] {
                for d: UInt16 in [0, 1, 9, 10, 11, 100, 999, 12345, 65535] {
                    #expect(DSN(klass: k, subject: s, detail: d).description == "\(k).\(s).\(d)")
                }
            }
        }
    }

    @Test func smtpBounceWithAllFields() throws {
        let p = Parsed("Jun  3 10:40:59 mail postfix/smtp[9890]: 776E41855DB2: to=<invalid.email@example.com>, relay=mx.example.com[11.22.33.44]:25, delay=1.9, delays=0/0/1.5/0.37, dsn=5.1.1, status=bounced (host mx.example.com[11.22.33.44] said: 550 5.1.1 <invalid.email@example.com> User unknown (in reply to RCPT TO command))")
        guard case .delivery(let d) = p.payload else { Issue.record("not a delivery: \(p.kind)"); return }
        #expect(p.s(d.queueID) == "776E41855DB2")
        #expect(p.s(d.to) == "invalid.email@example.com")
        #expect(d.origTo == nil)
        #expect(d.relay.kind == .host)
        #expect(p.s(d.relay.host) == "mx.example.com")
        #expect(p.s(d.relay.address) == "11.22.33.44")
        #expect(d.relay.port == 25)
        #expect(d.delay == 1.9)
        #expect(d.delays == Delays(beforeQueue: 0, inQueue: 0, connection: 1.5, transmission: 0.37))
        #expect(d.dsn == DSN(klass: 5, subject: 1, detail: 1))
        #expect(d.status == .bounced)
        #expect(p.s(d.reply).hasPrefix("host mx.example.com[11.22.33.44] said: 550 5.1.1"))
        #expect(p.s(d.reply).hasSuffix("(in reply to RCPT TO command)"))
        #expect(d.replyCode == 550)
        #expect(d.queuedAs == nil)
    }

    @Test func addressesWithAngleBracketsInAQuotedLocalPart() {
        let p = Parsed("Nov 25 10:00:01 mx postfix/smtp[4]: 4AB12C0001: to=<victim+<img src=x onerror=alert(2)>@example.com>, relay=mx.example.com[198.51.100.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)")
        guard case .delivery(let d) = p.payload else { Issue.record("not a delivery: \(p.kind)"); return }
        #expect(p.s(d.to) == "victim+<img src=x onerror=alert(2)>@example.com")
        #expect(p.s(d.relay.host) == "mx.example.com")
        let q = Parsed("Nov 25 10:00:00 mx postfix/qmgr[3]: 4AB12C0001: from=<\"<script>alert(1)</script>\"@evil.example>, size=300, nrcpt=1 (queue active)")
        guard case .queueActive(let a) = q.payload else { Issue.record("not qmgr's from=: \(q.kind)"); return }
        #expect(q.s(a.from) == "\"<script>alert(1)</script>\"@evil.example")
        #expect(a.size == 300)
    }

    @Test func contentFilterHopAmavisForm() {
        let p = Parsed("Jun  3 10:40:57 mail postfix/smtp[9710]: 4AA091855DA0: to=<invalid.email@example.com>, relay=127.0.0.1[127.0.0.1]:10024, delay=0.23, delays=0.15/0/0/0.08, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 776E41855DB2)")
        guard case .delivery(let d) = p.payload else { Issue.record("not a delivery"); return }
        #expect(p.s(d.queuedAs) == "776E41855DB2")
        #expect(d.viaFilter)
        #expect(d.relay.port == 10024)
        #expect(d.status == .sent)
    }

    @Test func contentFilterHopPlainForm() {
        let p = Parsed("Oct  1 12:00:00 mx postfix/smtp[1]: 7EE668039: to=<admin@example.com>, relay=127.0.0.1[127.0.0.1]:2525, delay=3.6, delays=0.2/0.02/0.04/3.3, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 153053D)")
        guard case .delivery(let d) = p.payload else { Issue.record("not a delivery"); return }
        #expect(p.s(d.queuedAs) == "153053D")
        #expect(!d.viaFilter)
    }

    @Test func longQueueIDs() {
        let p = Parsed("Jan  1 00:00:01 mail postfix/smtp[1]: 4dhRlj16Wyz4cGfk: to=<a@b.example>, relay=mx.b.example[192.0.2.7]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4dhRlj2Bk0z9sWQ)")
        guard case .delivery(let d) = p.payload else { Issue.record("not a delivery"); return }
        #expect(p.s(d.queueID) == "4dhRlj16Wyz4cGfk")
        #expect(p.s(d.queuedAs) == "4dhRlj2Bk0z9sWQ")
    }

    @Test func localWithOrigToAndCommand() {
        let p = Parsed("Feb  1 10:00:00 h postfix/local[5]: 2A22C263F6: to=user@hostname.example.com, orig_to=root@localhost, relay=local, delay=0.07, delays=0.04/0/0/0.03, dsn=2.0.0, status=sent (delivered to command: procmail -a \"$EXTENSION\")")
        guard case .delivery(let d) = p.payload else { Issue.record("not a delivery"); return }
        #expect(p.s(d.to) == "user@hostname.example.com")
        #expect(p.s(d.origTo) == "root@localhost")
        #expect(d.relay.kind == .local)
        #expect(p.s(d.reply) == "delivered to command: procmail -a \"$EXTENSION\"")
    }

    @Test func lmtpToSocketPath() {
        let p = Parsed("Jun  3 10:40:59 mail postfix/lmtp[9717]: A48191855DA0: to=<user@sender.com>, relay=mail.sender.com[/var/run/dovecot/lmtp], delay=0.03, delays=0.01/0/0.02/0.01, dsn=2.0.0, status=sent (250 2.0.0 <user@sender.com> IkiQKTt+117kJgAAWP5Hkg Saved)")
        guard case .delivery(let d) = p.payload else { Issue.record("not a delivery"); return }
        #expect(d.relay.kind == .path)
        #expect(p.s(d.relay.address) == "/var/run/dovecot/lmtp")
        #expect(p.header.process.daemon == .lmtp)
    }

    @Test func errorAgentDeferralAndRelayNone() {
        let p = Parsed("Dec 15 07:48:33 phoenix postfix/error[30156]: C2EC71104FA2: to=<u-b89d5aba@dmn.co.uk>, relay=none, delay=406308, delays=405198/1110/0/0, dsn=4.4.1, status=deferred (delivery temporarily suspended: connect to mx.dmn.co.uk[192.0.2.1]:25: Connection timed out)")
        guard case .delivery(let d) = p.payload else { Issue.record("not a delivery"); return }
        #expect(d.relay.kind == .none)
        #expect(d.status == .deferred)
        #expect(d.delay == 406308)
        #expect(d.dsn == DSN(klass: 4, subject: 4, detail: 1))
    }

    @Test func connUseAndVirtualAndPipeAndDiscard() {
        let a = Parsed("Jan  1 00:00:00 m postfix/smtp[1]: ABCDEF123: to=<x@y.z>, relay=mx.y.z[192.0.2.1]:25, conn_use=3, delay=0.4, delays=0/0/0/0.4, dsn=2.0.0, status=sent (250 ok)")
        guard case .delivery(let d) = a.payload else { Issue.record("not a delivery"); return }
        #expect(d.connUse == 3)
        let v = Parsed("Jun  1 00:00:00 m postfix/virtual[1]: ABCDEF123: to=<x@y.z>, relay=virtual, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to maildir)")
        guard case .delivery(let vd) = v.payload else { Issue.record("not a delivery"); return }
        #expect(vd.relay.kind == .name && v.s(vd.relay.host) == "virtual")
        let pipe = Parsed("Jun  1 00:00:00 m postfix/pipe[1]: 0F5383D: to=<tom@example.com>, relay=dovecot, delay=4.3, delays=4.1/0.01/0/0.15, dsn=2.0.0, status=sent (delivered via dovecot service)")
        #expect(pipe.kind == "delivery")
        let discard = Parsed("May  8 01:15:47 mailserver01 postfix/discard[19593]: 25F2E5E061: to=<george.desantis@test.example.com>, relay=none, delay=0.05, delays=0.05/0/0/0, dsn=2.0.0, status=sent (test.example.com)")
        #expect(discard.kind == "delivery")
        let verify = Parsed("Jun  1 00:00:00 m postfix/error[1]: 3E29030F8637E: to=<user@yahoo.com>, relay=none, delay=0.01, delays=0.01/0/0/0, dsn=5.1.1, status=undeliverable-but-not-cached (User unknown in virtual alias table)")
        guard case .delivery(let vv) = verify.payload else { Issue.record("not a delivery"); return }
        #expect(vv.status == .undeliverableNotCached)
    }

    @Test func remoteIDs() {
        func rid(_ reply: String) -> String? {
            let p = Parsed("Jan  1 00:00:00 m postfix/smtp[1]: ABCDEF123: to=<x@y.z>, relay=mx.y.z[192.0.2.1]:25, delay=0.4, delays=0/0/0/0.4, dsn=2.0.0, status=sent (\(reply))")
            guard case .delivery(let d) = p.payload else { return nil }
            return p.s(d.remoteID)
        }
        #expect(rid("250 2.0.0 OK  1632412662 aaaaaaaaaaaaaaa.511 - gsmtp") == "aaaaaaaaaaaaaaa.511")
        #expect(rid("250 OK id=1Zv5ab-0003xx-Qm") == "1Zv5ab-0003xx-Qm")
        #expect(rid("250 2.0.0 6FVIjIMwUJwU66FVIjAEB0 mail accepted for delivery") == "6FVIjIMwUJwU66FVIjAEB0")
        #expect(rid("250 2.6.0 <abc@x> [InternalId=123456789, Hostname=AM0] Queued mail for delivery") == "123456789")
        #expect(rid("250 2.0.0 Ok: queued as 4Q1x2y3z4") == "4Q1x2y3z4")
    }

    @Test func connectFailureAndConversationErrors() {
        let a = Parsed("Nov  7 02:18:39 conch postfix/smtp[19196]: connect to mortou.biz[188.122.72.101]:25: Connection refused")
        guard case .connectFailure(let peer, let reason) = a.payload else { Issue.record("kind \(a.kind)"); return }
        #expect(a.s(peer.host) == "mortou.biz" && a.s(peer.ip) == "188.122.72.101" && peer.port == 25)
        #expect(a.s(reason) == "Connection refused")
        let b = Parsed("May 28 10:52:57 host postfix/smtp[1284]: 7408D106C4B: lost connection with gmail.com[173.194.126.85] while receiving the initial server greeting")
        guard case .conversationError(let q, let p2, _) = b.payload else { Issue.record("kind \(b.kind)"); return }
        #expect(b.s(q) == "7408D106C4B" && b.s(p2?.ip) == "173.194.126.85")
        let c = Parsed("Feb  1 00:00:00 h postfix/smtp[1]: BC9D03C349E: host mail.qwe.tld[192.168.96.10] said: 451 This user is over quota, try again later (in reply to RCPT TO command)")
        #expect(c.kind == "delivery.conversation-error")
    }

    @Test func tlsOutgoing() {
        let p = Parsed("Jul 24 04:38:17 mail postfix/smtp[30582]: Verified TLS connection established to gmail-smtp-in.l.google.com[108.177.14.26]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256")
        guard case .tls(let t) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(t.direction == .outgoing && p.s(t.trust) == "Verified" && p.s(t.proto) == "TLSv1.3")
        #expect(p.s(t.cipher) == "TLS_AES_256_GCM_SHA384" && t.peer.port == 25)
    }
}

@Suite struct QueueTests {
    @Test func queueActive() {
        let p = Parsed("Jun  3 10:40:57 mail postfix/qmgr[1005]: 4AA091855DA0: from=<user@sender.com>, size=391, nrcpt=1 (queue active)")
        guard case .queueActive(let q) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(p.s(q.queueID) == "4AA091855DA0" && p.s(q.from) == "user@sender.com" && q.size == 391 && q.nrcpt == 1)
        let n = Parsed("Jun  3 10:40:59 mail postfix/qmgr[1005]: A48191855DA0: from=<>, size=3147, nrcpt=1 (queue active)")
        guard case .queueActive(let q2) = n.payload else { Issue.record("kind \(n.kind)"); return }
        #expect(q2.from.isEmpty)
    }

    @Test func removedAndExpired() {
        let r = Parsed("Jun  3 10:40:59 mail postfix/qmgr[1005]: 776E41855DB2: removed")
        guard case .removed(let q) = r.payload else { Issue.record("kind \(r.kind)"); return }
        #expect(r.s(q) == "776E41855DB2")
        let e = Parsed("Dec 15 07:48:10 phoenix postfix/qmgr[28945]: EF0771103AB0: from=<u-b7a51288@dmnesisparty.co.uk>, status=expired, returned to sender")
        guard case .expired(let eq, let from, let force) = e.payload else { Issue.record("kind \(e.kind)"); return }
        #expect(e.s(eq) == "EF0771103AB0" && e.s(from) == "u-b7a51288@dmnesisparty.co.uk" && !force)
        let f = Parsed("Dec 15 07:48:10 phoenix postfix/qmgr[28945]: EF0771103AB0: from=<>, status=force-expired, returned to sender")
        guard case .expired(_, _, let force2) = f.payload else { Issue.record("kind \(f.kind)"); return }
        #expect(force2)
        #expect(Parsed("Jan  1 00:00:00 m postfix/qmgr[1]: ED06590130AA1C9D6D862: skipped, still being delivered").kind == "qmgr.note")
    }

    @Test func pickupAndBounceNotifications() {
        let p = Parsed("Dec 15 07:46:27 phoenix postfix/pickup[28944]: B4C5A1100935: uid=0 from=<root>")
        guard case .pickup(let q, let uid, let from) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(p.s(q) == "B4C5A1100935" && uid == 0 && p.s(from) == "root")
        for (text, kind) in [("sender non-delivery notification", NotificationKind.nonDelivery),
                             ("sender delay notification", .delay),
                             ("sender delivery status notification", .success),
                             ("postmaster non-delivery notification", .postmasterNonDelivery)] {
            let b = Parsed("Jun  3 10:40:59 mail postfix/bounce[9719]: 776E41855DB2: \(text): A48191855DA0")
            guard case .notification(let q1, let k, let n) = b.payload else { Issue.record("kind \(b.kind)"); continue }
            #expect(b.s(q1) == "776E41855DB2" && k == kind && b.s(n) == "A48191855DA0")
        }
    }

    @Test func masterAndPostsuper() {
        let a = Parsed("Dec 15 15:42:33 phoenix postfix/master[13487]: daemon started -- version 2.11.1, configuration /etc/postfix")
        guard case .master(.started(let v)) = a.payload else { Issue.record("kind \(a.kind)"); return }
        #expect(a.s(v) == "2.11.1")
        let b = Parsed("Dec 15 15:42:33 phoenix postfix/master[13487]: reload -- version 3.7.5, configuration /etc/postfix")
        guard case .master(.reload(let v2)) = b.payload else { Issue.record("kind \(b.kind)"); return }
        #expect(b.s(v2) == "3.7.5")
        let c = Parsed("Dec 15 15:42:31 phoenix postfix/master[28943]: terminating on signal 15")
        guard case .master(.terminating(let sig)) = c.payload else { Issue.record("kind \(c.kind)"); return }
        #expect(sig == 15)
        let d = Parsed("Jan  1 00:00:00 m postfix/postsuper[1]: Deleted: 115 messages")
        guard case .postsuper(nil, .removed, 115) = d.payload else { Issue.record("kind \(d.kind)"); return }
        let e = Parsed("Jan  1 00:00:00 m postfix/postsuper[1]: D4F2023DB: placed on hold")
        guard case .postsuper(let q?, .held, nil) = e.payload else { Issue.record("kind \(e.kind)"); return }
        #expect(e.s(q) == "D4F2023DB")
    }

    @Test func statisticsAndDnsblog() {
        #expect(Parsed("Dec 15 08:02:00 phoenix postfix/anvil[30442]: statistics: max connection rate 8/60s for (smtp:119.73.162.126) at Dec 15 07:58:40").kind == "statistics")
        #expect(Parsed("Dec 15 07:50:09 phoenix postfix/scache[29120]: statistics: domain lookup hits=0 miss=149 success=0%").kind == "statistics")
        let p = Parsed("Jan  1 00:00:00 m postfix/dnsblog[1]: addr 61.238.241.86 listed by domain psbl.surriel.com as 127.0.0.2")
        guard case .dnsblog(let ip, let domain, let result) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(p.s(ip) == "61.238.241.86" && p.s(domain) == "psbl.surriel.com" && p.s(result) == "127.0.0.2")
    }

    @Test func diagnosticsOfAnyDaemon() {
        let p = Parsed("Dec 15 11:11:25 phoenix postfix/smtp[3234]: warning: open active 328891109025: No such file or directory")
        guard case .diagnostic(.warning, nil, let text) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(p.s(text) == "open active 328891109025: No such file or directory")
        let q = Parsed("Jan  1 00:00:00 m postfix/cleanup[1]: warning: 9BECF3F19D: sender_canonical_maps map lookup problem for sender@example.com -- message not accepted, try again later")
        guard case .diagnostic(.warning, let qid?, _) = q.payload else { Issue.record("kind \(q.kind)"); return }
        #expect(q.s(qid) == "9BECF3F19D")
        #expect(Parsed("Jan  1 00:00:00 m postfix/sendmail[1]: fatal: root(0): message file too big").kind == "fatal")
        #expect(Parsed("Jan  1 00:00:00 m postfix/proxymap[1]: error: unsupported dictionary type: mysql").kind == "error")
        #expect(Parsed("Jan  1 00:00:00 m postfix/master[1]: panic: myfree: corrupt or unallocated memory block").kind == "panic")
    }
}

@Suite struct CleanupTests {
    @Test(arguments: [
        ("<ca10035e-2951@mail.sender.com>", MessageIDKind.valid, "ca10035e-2951@mail.sender.com"),
        ("<>", .empty, ""),
        ("=?UTF-8?B?PDE5?=? =?UTF-8?B?MTIy?=", .corrupted, "=?UTF-8?B?PDE5?=? =?UTF-8?B?MTIy?="),
        ("<broken@x", .corrupted, "broken@x"),
    ])
    func messageIDs(raw: String, kind: MessageIDKind, id: String) {
        let p = Parsed("Jun  3 10:40:57 mail postfix/cleanup[9716]: 776E41855DB2: message-id=\(raw)")
        guard case .messageID(let q, let m, let k) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(p.s(q) == "776E41855DB2" && p.s(m) == id && k == kind)
    }

    @Test func milterReject() {
        let p = Parsed("Jan  1 00:00:00 m postfix/cleanup[1]: 4104E3D: milter-reject: END-OF-MESSAGE from 061238241086.static.ctinets.com[61.238.241.86]: 5.7.1 Blocked by SpamAssassin; from=<wumt5@cchfdc.com> to=<voorzitter@example.com> proto=ESMTP helo=<ecsolved.com>")
        guard case .cleanup(let e) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(e.action == .milterReject)
        #expect(p.s(e.what) == "END-OF-MESSAGE")
        #expect(p.s(e.client?.ip) == "61.238.241.86")
        #expect(e.dsn == DSN(klass: 5, subject: 7, detail: 1))
        #expect(p.s(e.reason) == "Blocked by SpamAssassin")
        #expect(p.s(e.from) == "wumt5@cchfdc.com" && p.s(e.to) == "voorzitter@example.com")
        #expect(p.s(e.proto) == "ESMTP" && p.s(e.helo) == "ecsolved.com")
    }

    @Test func headerChecks() {
        let p = Parsed("Jun  3 10:40:57 mail postfix/cleanup[9709]: 4AA091855DA0: replace: header MIME-Version: 1.0 from some.domain.name[1.2.3.4]; from=<user@sender.com> to=<invalid.email@example.com> proto=ESMTP helo=<[192.168.0.178]>: Mime-Version: 1.0")
        guard case .cleanup(let e) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(e.action == .replace && p.s(e.what) == "header")
        #expect(p.s(e.text) == "MIME-Version: 1.0")
        #expect(p.s(e.client?.host) == "some.domain.name")
        #expect(p.s(e.from) == "user@sender.com" && p.s(e.helo) == "[192.168.0.178]")
        let w = Parsed("Jan  1 00:00:00 m postfix/cleanup[1]: 66BFB3C3487: warning: header Subject: [seapig-shop] Order confirmation from local; from=<shop@seapig-shop.tld>")
        guard case .cleanup(let we) = w.payload else { Issue.record("kind \(w.kind)"); return }
        #expect(we.action == .warning && w.s(we.clientText) == "local" && w.s(we.from) == "shop@seapig-shop.tld")
        for action in ["reject", "hold", "discard", "redirect", "filter", "prepend", "info"] {
            let a = Parsed("Jan  1 00:00:00 m postfix/cleanup[1]: 66BFB3C3487: \(action): body spam text from x[192.0.2.1]; from=<a@b> to=<c@d> proto=SMTP helo=<h>: text")
            #expect(a.kind == "cleanup.\(action)")
        }
        #expect(Parsed("Jan  1 00:00:00 m postfix/cleanup[1]: 66BFB3C3487: milter-hold: END-OF-MESSAGE from x[192.0.2.1]: milter triggers HOLD action; from=<a@b> to=<c@d> proto=SMTP helo=<h>").kind == "cleanup.milter-hold")
        #expect(Parsed("Jan  1 00:00:00 m postfix/cleanup[1]: 66BFB3C3487: milter-discard: END-OF-MESSAGE from x[192.0.2.1]: milter triggers DISCARD action; from=<a@b> to=<c@d> proto=SMTP helo=<h>").kind == "cleanup.milter-discard")
        #expect(Parsed("Jan  1 00:00:00 m postfix/cleanup[1]: 66BFB3C3487: resent-message-id=<r@x>").kind == "cleanup.resent-message-id")
    }
}
