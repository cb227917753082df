import PostfixLog
import Testing

@Suite struct SmtpdTests {
    @Test func connectDisconnectWithCounters() {
        let c = Parsed("Sep 23 15:57:39 mail postfix/submission/smtpd[3646210]: connect from unknown[fe80::1:2:3:4]")
        guard case .smtpd(.connect(let peer)) = c.payload else { Issue.record("kind \(c.kind)"); return }
        #expect(c.s(peer.host) == "unknown" && c.s(peer.ip) == "fe80::1:2:3:4")
        let d = Parsed("Sep 23 15:53:33 mail postfix/smtpd[3643150]: disconnect from unknown[0.0.0.0] ehlo=1 auth=0/1 mail=1 rcpt=0/1 quit=1 commands=3/5")
        guard case .smtpd(.disconnect(_, let k)) = d.payload else { Issue.record("kind \(d.kind)"); return }
        #expect(k.authSuccess == 0 && k.authAttempts == 1 && k.commandsSuccess == 3 && k.commandsTotal == 5 && k.mail == 1 && k.rcpt == 0)
        let plain = Parsed("Oct 22 02:13:42 conch postfix/smtpd[26895]: disconnect from jurann.biz[77.95.228.43]")
        #expect(plain.kind == "smtpd.disconnect")
    }

    @Test func clientLineWithSASL() {
        let p = Parsed("Oct 30 13:19:26 mailgw-out1 postfix/smtpd[27530]: EB4B2C19E2: client=xxx[1.2.3.4]:52114, sasl_method=PLAIN, sasl_username=user@domain, sasl_sender=other@domain")
        guard case .smtpd(.client(let c)) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(p.s(c.queueID) == "EB4B2C19E2" && p.s(c.client.ip) == "1.2.3.4" && c.client.port == 52114)
        #expect(p.s(c.saslMethod) == "PLAIN" && p.s(c.saslUsername) == "user@domain" && p.s(c.saslSender) == "other@domain")
    }

    @Test func noqueueReject() {
        let p = Parsed("Oct 22 02:13:42 conch postfix/smtpd[26895]: NOQUEUE: reject: RCPT from jurann.biz[77.95.228.43]: 554 5.7.1 Service unavailable; Client host [77.95.228.43] blocked using zen.spamhaus.org; http://www.spamhaus.org/sbl/query/SBLCSS; from=<u-18485cbb@jurann.biz> to=<u-79e3e3c8@seaglass.com> proto=ESMTP helo=<jurann.biz>")
        guard case .reject(let r) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(r.queueID == nil && r.action == .reject)
        #expect(p.s(r.stage) == "RCPT" && p.s(r.client.ip) == "77.95.228.43" && r.code == 554)
        #expect(r.dsn == DSN(klass: 5, subject: 7, detail: 1))
        #expect(p.s(r.reason) == "Service unavailable; Client host [77.95.228.43] blocked using zen.spamhaus.org; http://www.spamhaus.org/sbl/query/SBLCSS")
        #expect(p.s(r.from) == "u-18485cbb@jurann.biz" && p.s(r.to) == "u-79e3e3c8@seaglass.com")
        #expect(p.s(r.proto) == "ESMTP" && p.s(r.helo) == "jurann.biz")
    }

    @Test func queuedRejectWithAddress() {
        let p = Parsed("Aug 13 15:45:46 server postfix/smtpd[13844]: 00ADB3C0899: reject: RCPT from example.com[192.0.2.1]: 550 5.1.1 <sales@server.com>: Recipient address rejected: User unknown in local recipient table; from=<a@example.com> to=<sales@server.com> proto=ESMTP helo=<example.com>")
        guard case .reject(let r) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(p.s(r.queueID) == "00ADB3C0899")
        #expect(p.s(r.address) == "sales@server.com")
        #expect(p.s(r.reason) == "Recipient address rejected: User unknown in local recipient table")
        let m = Parsed("Oct 22 14:14:13 conch postfix/smtpd[4795]: NOQUEUE: reject: MAIL from 103-47.sg[103.47.210.166]: 452 4.3.1 Insufficient system storage; proto=ESMTP helo=<baffle.hemansites.com>")
        guard case .reject(let r2) = m.payload else { Issue.record("kind \(m.kind)"); return }
        #expect(p.s(r2.stage) == "MAIL" || m.s(r2.stage) == "MAIL")
        #expect(m.s(r2.reason) == "Insufficient system storage" && m.s(r2.helo) == "baffle.hemansites.com" && r2.from == nil)
        let h = Parsed("Jan  1 00:00:00 m postfix/smtpd[1]: 7CFEC936015: hold: RCPT from unknown[192.0.2.3]: <a@b>: Recipient address triggers HOLD action; from=<x@y> to=<a@b> proto=ESMTP helo=<h>")
        #expect(h.kind == "reject.hold")
        let f = Parsed("Jan  1 00:00:00 m postfix/smtpd[1]: NOQUEUE: filter: RCPT from localhost[127.0.0.1]: <a@b>: Sender address triggers FILTER smtp:[127.0.0.1]:10025; from=<a@b> to=<c@d> proto=SMTP helo=<h>")
        #expect(f.kind == "reject.filter")
    }

    @Test func saslFailures() {
        let p = Parsed("Dec 15 23:02:54 phoenix postfix/smtpd[24226]: warning: unknown[115.165.211.169]: SASL LOGIN authentication failed: authentication failure")
        guard case .smtpd(.saslFailed(let f)) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(p.s(f.client.ip) == "115.165.211.169" && p.s(f.mechanism) == "LOGIN" && p.s(f.reason) == "authentication failure")
        let u = Parsed("Jan  1 00:00:00 m postfix/smtpd[1]: warning: x[192.0.2.9]: SASL PLAIN authentication failed: , sasl_username=bob@example.com")
        guard case .smtpd(.saslFailed(let f2)) = u.payload else { Issue.record("kind \(u.kind)"); return }
        #expect(u.s(f2.username) == "bob@example.com")
        #expect(Parsed("Dec 15 23:01:23 phoenix postfix/smtpd[24226]: warning: SASL authentication failure: Password verification failed").kind == "warning")
    }

    @Test func sessionEvents() {
        #expect(Parsed("Dec 15 23:56:26 phoenix postfix/smtpd[25809]: lost connection after AUTH from unknown[59.90.135.135]").kind == "smtpd.lost-connection")
        let d = Parsed("Jan  1 00:00:00 m postfix/smtpd[1]: lost connection after DATA (0 bytes) from unknown[192.168.238.8]")
        guard case .smtpd(.lostConnection(let after, let peer)) = d.payload else { Issue.record("kind \(d.kind)"); return }
        #expect(d.s(after) == "DATA" && d.s(peer.ip) == "192.168.238.8")
        #expect(Parsed("May 27 16:06:50 host postfix/smtpd[803]: timeout after END-OF-MESSAGE from localhost[127.0.0.1]").kind == "smtpd.timeout")
        #expect(Parsed("Jan  1 00:00:00 m postfix/smtpd[1]: too many errors after RCPT from unknown[192.0.2.1]").kind == "smtpd.too-many-errors")
        #expect(Parsed("Jan 12 11:07:49 e postfix/smtpd[13767]: improper command pipelining after DATA from unknown[181.21.131.88]: ").kind == "smtpd.improper-pipelining")
        #expect(Parsed("Jun  3 10:40:57 mail postfix/submission/smtpd[9708]: Anonymous TLS connection established from some.domain.name[1.2.3.4]: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)").kind == "smtpd.tls")
        #expect(Parsed("Dec 15 23:18:37 p postfix/smtpd[1]: warning: hostname h.example does not resolve to address 87.18.30.66: Name or service not known").kind == "smtpd.dns-mismatch")
        #expect(Parsed("Nov  7 02:26:05 conch postfix/smtpd[19216]: warning: 94.102.49.122: address not listed for hostname moncler-italia-outlet.com").kind == "smtpd.dns-mismatch")
        #expect(Parsed("2024-10-31T12:38:21.817327+00:00 machine postfix/submission/smtpd[2634372]: warning: non-SMTP command from unknown[192.168.1.1]: GET / HTTP/1.1").kind == "smtpd.non-smtp-command")
    }
}

@Suite struct PostscreenTests {
    @Test(arguments: [
        ("CONNECT from [61.238.241.86]:53024 to [89.105.204.244]:25", "postscreen.connect", "61.238.241.86"),
        ("PASS NEW [2607:f8b0:4003:c01::23a]:36051", "postscreen.pass-new", "2607:f8b0:4003:c01::23a"),
        ("PASS OLD [61.238.241.86]:53024", "postscreen.pass-old", "61.238.241.86"),
        ("DNSBL rank 3 for [111.73.45.149]:1038", "postscreen.dnsbl-rank", "111.73.45.149"),
        ("PREGREET 6 after 1.2 from [216.81.72.72]:43421: RSET", "postscreen.pregreet", "216.81.72.72"),
        ("HANGUP after 63 from [111.73.45.149]:1038 in tests after SMTP handshake", "postscreen.hangup", "111.73.45.149"),
        ("COMMAND PIPELINING from [88.208.233.4]:42606 after .: ", "postscreen.command-pipelining", "88.208.233.4"),
        ("DISCONNECT [216.81.72.72]:43421", "postscreen.disconnect", "216.81.72.72"),
        ("WHITELISTED [61.238.241.86]:53024", "postscreen.allowlisted", "61.238.241.86"),
        ("ALLOWLISTED [61.238.241.86]:53024", "postscreen.allowlisted", "61.238.241.86"),
        ("BLACKLISTED [61.238.241.86]:53024", "postscreen.denylisted", "61.238.241.86"),
        ("DENYLISTED [61.238.241.86]:53024", "postscreen.denylisted", "61.238.241.86"),
        ("NOQUEUE: reject: RCPT from [27.157.200.233]:4984: 550 5.7.1 Service unavailable; client [27.157.200.233] blocked using zen.spamhaus.org; from=<hcdvbnm@qhhn.com>, to=<x@example.com>, proto=ESMTP, helo=<qhhn.com>", "postscreen.reject", "27.157.200.233"),
        ("NOQUEUE: reject: CONNECT from [1.2.3.4]:1337: too many connections", "postscreen.reject", "1.2.3.4"),
    ])
    func actions(message: String, kind: String, ip: String) {
        let p = Parsed("Oct 25 04:24:59 mx postfix/postscreen[22244]: \(message)")
        #expect(p.kind == kind)
        guard case .postscreen(let e) = p.payload else { return }
        #expect(p.s(e.ip) == ip)
        if kind == "postscreen.dnsbl-rank" { #expect(e.rank == 3) }
        if let r = e.reject, message.contains("RCPT") {
            #expect(p.s(r.from) == "hcdvbnm@qhhn.com" && p.s(r.to) == "x@example.com" && p.s(r.helo) == "qhhn.com")
            #expect(p.s(r.reason) == "Service unavailable; client [27.157.200.233] blocked using zen.spamhaus.org")
        }
    }
}

@Suite struct DovecotAndFilterTests {
    @Test func loginAuthFailure() {
        let p = Parsed("Sep 8 07:16:27 canyon dovecot[7508]: imap-login: Disconnected (auth failed, 1 attempts in 6 secs): user=<toto@toto.com>, method=PLAIN, rip=1.1.1.1, lip=7.7.7.7, TLS, session=<azdaDADSqqsvf-za>")
        guard case .dovecot(.authFailure(let a)) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(p.s(a.service) == "imap-login" && p.s(a.user) == "toto@toto.com" && p.s(a.method) == "PLAIN")
        #expect(p.s(a.remoteIP) == "1.1.1.1" && p.s(a.localIP) == "7.7.7.7" && a.attempts == 1)
    }

    @Test func authBackendFailures() {
        let p = Parsed("Jan 29 05:13:50 mail dovecot: auth: passwd-file(username,1.2.3.4): unknown user")
        guard case .dovecot(.authFailure(let a)) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(p.s(a.user) == "username" && p.s(a.remoteIP) == "1.2.3.4" && p.s(a.reason) == "unknown user")
        let q = Parsed("Apr 29 15:54:19 mail dovecot: auth-worker(14864): conn unix:auth-worker (pid=14830,uid=109): auth-worker<6>: pam(caliph@customdomaine.com,5.34.207.151): pam_authenticate() failed: Authentication failure (Password mismatch?)")
        guard case .dovecot(.authFailure(let b)) = q.payload else { Issue.record("kind \(q.kind)"); return }
        #expect(q.s(b.user) == "caliph@customdomaine.com" && q.s(b.remoteIP) == "5.34.207.151")
        let r = Parsed("@400000004c91b044077a9e94 dovecot-auth: pam_unix(dovecot:auth): authentication failure; logname= uid=0 euid=0 tty=dovecot ruser=root rhost=176.61.140.225  user=root")
        guard case .dovecot(.authFailure(let c)) = r.payload else { Issue.record("kind \(r.kind)"); return }
        #expect(r.s(c.remoteIP) == "176.61.140.225" && r.s(c.user) == "root")
    }

    @Test func lmtpSavedAndLogin() {
        let p = Parsed("Jun  3 10:40:59 mail dovecot: lmtp(user@sender.com)<9956><IkiQKTt+117kJgAAWP5Hkg>: msgid=<20200603104059.A48191855DA0@mail.sender.com>: saved mail to INBOX")
        guard case .dovecot(.lmtpSaved(let user, let msgid, let mailbox)) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(p.s(user) == "user@sender.com" && p.s(msgid) == "20200603104059.A48191855DA0@mail.sender.com" && p.s(mailbox) == "INBOX")
        #expect(Parsed("Oct 13 09:22:59 canyon dovecot: pop3-login: Info: Login: user=<test@yourdomain.net>, method=PLAIN, rip=172.17.0.1, lip=172.17.0.2, mpid=18, TLS").kind == "dovecot.login")
        #expect(Parsed("Jun 13 20:48:11 platypus dovecot: pop3-login: Disconnected (no auth attempts): rip=121.44.24.254, lip=113.212.99.194, TLS: Disconnected").kind == "dovecot.disconnect")
    }

    @Test func amavis() {
        let p = Parsed("Jun  3 10:40:57 mail amavis[2279]: (02279-04) Passed CLEAN {RelayedOpenRelay}, [1.2.3.4]:6101 [1.2.3.4] <user@sender.com> -> <invalid.email@example.com>, Queue-ID: 4AA091855DA0, Message-ID: <ca10035e@mail.sender.com>, mail_id: 6aLEkMwQa8H2, Hits: -, size: 888, queued_as: 776E41855DB2, 80 ms")
        guard case .amavis(let a) = p.payload else { Issue.record("kind \(p.kind)"); return }
        #expect(a.result == .passed && p.s(a.category) == "CLEAN" && p.s(a.queueID) == "4AA091855DA0")
        #expect(p.s(a.queuedAs) == "776E41855DB2" && p.s(a.messageID) == "ca10035e@mail.sender.com")
        let b = Parsed("Jun  3 10:40:57 mail amavis[2279]: (02279-05) Blocked SPAM {DiscardedInbound}, [1.2.3.4]:6101 <a@b> -> <c@d>, Queue-ID: 5BB091855DA0, Message-ID: <x@y>, mail_id: q, Hits: 12.1, size: 888, 80 ms")
        guard case .amavis(let bb) = b.payload else { Issue.record("kind \(b.kind)"); return }
        #expect(bb.result == .blocked && b.s(bb.category) == "SPAM")
    }

    @Test func filtersByKind() {
        #expect(Parsed("Jun  3 10:40:57 mail opendkim[235]: 4AA091855DA0: DKIM-Signature field added (s=mail, d=mail.sender.com)").kind == "opendkim")
        #expect(Parsed("Jun  3 10:40:57 mail opendmarc[235]: 4AA091855DA0: example.com pass").kind == "opendmarc")
        #expect(Parsed("Jun  3 10:40:57 mail policyd-spf[235]: prepend Received-SPF: Pass (mailfrom) identity=mailfrom").kind == "policyd-spf")
        #expect(Parsed("Jun  3 10:40:57 mail postgrey[235]: action=greylist, reason=new, client_name=x").kind == "postgrey")
    }
}
