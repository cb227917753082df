import PostfixLog
import Testing

@Suite struct HeaderTests {
    @Test func traditionalSyslog() {
        let p = Parsed("Jun  3 10:40:57 mail postfix/submission/smtpd[9708]: connect from some.domain.name[1.2.3.4]")
        let t = p.header.time
        #expect(t.year == 0 && t.month == 6 && t.day == 3 && t.hour == 10 && t.minute == 40 && t.second == 57)
        #expect(t.utcOffsetMinutes == nil)
        #expect(p.s(p.header.host) == "mail")
        #expect(p.header.process.daemon == .smtpd)
        #expect(p.s(p.header.process.service) == "submission")
        #expect(p.header.process.instance == nil)
        #expect(p.header.process.pid == 9708)
        #expect(p.s(p.header.message) == "connect from some.domain.name[1.2.3.4]")
        #expect(p.record.isPostfix)
    }

    @Test func unpaddedAndZeroPaddedDays() {
        #expect(Parsed("Sep 8 07:46:30 canyon postfix/qmgr[1]: 4AA091855DA0: removed").header.time.day == 8)
        #expect(Parsed("Jul 02 13:49:31 host postfix/qmgr[1]: 4AA091855DA0: removed").header.time.day == 2)
    }

    @Test(arguments: [
        ("2021-05-16T00:01:42.278515+02:00", 2021, 5, 16, 0, 1, 42, 278_515_000, 120),
        ("2024-08-26T01:33:38.572449+00:00", 2024, 8, 26, 1, 33, 38, 572_449_000, 0),
        ("2024-08-26T01:33:38Z", 2024, 8, 26, 1, 33, 38, 0, 0),
        ("2024-08-26T01:33:38.5-05:30", 2024, 8, 26, 1, 33, 38, 500_000_000, -330),
        ("2024-08-26T01:33:38.123456789+0100", 2024, 8, 26, 1, 33, 38, 123_456_789, 60),
    ])
    func rfc3339(stamp: String, y: Int, mo: Int, d: Int, h: Int, mi: Int, s: Int, ns: Int, off: Int) {
        let p = Parsed("\(stamp) mail postfix/qmgr[11]: 4AA091855DA0: removed")
        let t = p.header.time
        #expect(Int(t.year) == y && Int(t.month) == mo && Int(t.day) == d)
        #expect(Int(t.hour) == h && Int(t.minute) == mi && Int(t.second) == s)
        #expect(Int(t.nanosecond) == ns)
        #expect(t.utcOffsetMinutes.map(Int.init) == off)
        #expect(p.kind == "qmgr.removed")
    }

    @Test func offsetsAreHonouredInUnixTime() {
        let a = Parsed("2021-05-16T02:01:42+02:00 mail postfix/qmgr[11]: 4AA091855DA0: removed").header.time
        let b = Parsed("2021-05-16T00:01:42Z mail postfix/qmgr[11]: 4AA091855DA0: removed").header.time
        #expect(a.unixSeconds(year: 1999) == b.unixSeconds(year: 1999))
        #expect(b.unixSeconds(year: 0) == 1_621_123_302)
    }

    @Test func prependRFC3339() {
        let p = Parsed("2023-01-02T03:04:05.678+00:00 Jan  2 03:04:05 mail postfix/smtp[7]: connect to mx.example.com[192.0.2.1]:25: Connection refused")
        #expect(p.header.time.year == 2023)
        #expect(p.header.time.nanosecond == 678_000_000)
        #expect(p.s(p.header.host) == "mail")
        #expect(p.kind == "delivery.connect-failure")
    }

    @Test func processNames() {
        let a = Parsed("Feb 11 16:49:25 letterman postfix-secondary/qmgr[8204]: AAB4D259B3: removed")
        #expect(a.header.process.daemon == .qmgr)
        #expect(a.s(a.header.process.instance) == "postfix-secondary")
        let b = Parsed("Sep  4 01:24:11 n postfix-170.55.103.23/smtpd[5965]: connect from x[1.2.3.4]")
        #expect(b.s(b.header.process.instance) == "postfix-170.55.103.23")
        #expect(b.kind == "smtpd.connect")
        let c = Parsed("Jun  3 10:40:57 mail postfix/sender-cleanup/cleanup[9709]: 4AA091855DA0: message-id=<a@b>")
        #expect(c.header.process.daemon == .cleanup)
        #expect(c.s(c.header.process.service) == "sender-cleanup")
        let d = Parsed("Jun  3 10:40:57 mail sender-cleanup/cleanup[9709]: 4AA091855DA0: message-id=<a@b>")
        #expect(d.s(d.header.process.instance) == "sender-cleanup")
        #expect(d.kind == "cleanup.message-id")
        let e = Parsed("Jun  3 10:40:57 mail amavis-inject/smtp[1]: 4AA091855DA0: to=<a@b>, relay=x[1.2.3.4]:25, delay=1, delays=1/0/0/0, dsn=2.0.0, status=sent (250 ok)")
        #expect(e.header.process.daemon == .smtp && e.record.isPostfix)
        let f = Parsed("Jun  3 14:44:00 host postfix[2714]: Postfix is running with backwards-compatible default settings")
        #expect(f.header.process.daemon == .postfix && f.kind == "note")
        let g = Parsed("Dec  9 10:18:23 mail postfix/qmgr: 4AA091855DA0: removed")
        #expect(g.header.process.pid == nil && g.kind == "qmgr.removed")
    }

    @Test func leadingNulAndBOM() {
        #expect(Parsed("\u{0}Jun  3 10:40:57 mail postfix/qmgr[1]: 4AA091855DA0: removed").kind == "qmgr.removed")
        #expect(Parsed("\u{FEFF}Jun  3 10:40:57 mail postfix/qmgr[1]: 4AA091855DA0: removed").kind == "qmgr.removed")
        #expect(Parsed("<22>Jun  3 10:40:57 mail postfix/qmgr[1]: 4AA091855DA0: removed").kind == "qmgr.removed")
    }

    @Test func linesWithoutHostOrWithOtherStamps() {
        let a = Parsed("Jan 29 09:33:58 pop3-login: Info: Aborted login (auth failed, 1 attempts in 2 secs): user=<grace>, method=PLAIN, rip=212.9.180.3")
        #expect(a.header.host.isEmpty && a.kind == "dovecot.auth-failure")
        let b = Parsed("2013-08-11 03:56:40 auth-worker(default): Info: pam(username,1.2.3.4): pam_authenticate() failed: Authentication failure (password mismatch?)")
        #expect(b.header.time.year == 2013 && b.kind == "dovecot.auth-failure")
        let c = Parsed("@400000004c91b044077a9e94 imap-login: Info: Aborted login (auth failed, 1 attempts): user=<martin@waschbuesch.de>, method=CRAM-MD5, rip=80.187.101.33, lip=80.254.129.240, TLS")
        #expect(c.header.time.year == 2010 && c.header.time.month == 9 && c.kind == "dovecot.auth-failure")
        let d = Parsed("postfix/cleanup: 52520490001: warning: header Subject: hi from unknown[192.168.25.183]; from=<a@b> to=<c@d> proto=ESMTP helo=<x>")
        #expect(d.header.process.daemon == .cleanup && d.kind == "cleanup.warning")
    }

    @Test func garbageIsUnsupportedWithTheWholeLineKept() {
        let p = Parsed("this is not a log line at all")
        #expect(p.kind == "unsupported")
        #expect(p.s(p.header.message) == "this is not a log line at all")
    }

    @Test func unixTimeAndCivilDatesRoundTrip() {
        for s: Int64 in [0, 86399, 86400, 951_782_400, 1_621_123_302, 4_102_444_800, -1] {
            let t = LogTime(fromUnix: s)
            #expect(t.unixSeconds(year: 0) == s)
        }
    }
}
