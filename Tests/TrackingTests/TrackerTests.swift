import PostfixLog
import Testing
import Tracking

@Suite struct TrackerTests {
    func run(_ text: String) -> Replay {
        var r = Replay()
        r.feed(text.split(separator: "\n").map(String.init))
        return r
    }

    @Test func loginAttemptsOfPostfixSASLAndDovecotLoginProcesses() {
        let r = run("""
            Jan  1 10:00:00 m postfix/smtpd[7]: connect from unknown[203.0.113.9]
            Jan  1 10:00:01 m postfix/smtpd[7]: warning: unknown[203.0.113.9]: SASL LOGIN authentication failed: UGFzc3dvcmQ6
            Jan  1 10:00:01 m dovecot: auth: passwd-file(alice,203.0.113.9): Password mismatch
            Jan  1 10:00:02 m postfix/smtpd[7]: disconnect from unknown[203.0.113.9] ehlo=1 auth=0/1 quit=1 commands=2/3
            Jan  1 10:00:03 m postfix/smtpd[8]: connect from client.example[198.51.100.2]
            Jan  1 10:00:04 m postfix/smtpd[8]: 2222BBBB22: client=client.example[198.51.100.2], sasl_method=PLAIN, sasl_username=alice@example.org
            Jan  1 10:00:05 m postfix/smtpd[8]: disconnect from client.example[198.51.100.2] ehlo=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=6
            Jan  1 10:00:06 m dovecot: imap-login: Disconnected (auth failed, 3 attempts in 12 secs): user=<bob>, method=PLAIN, rip=203.0.113.9, lip=192.0.2.1, TLS, session=<abc>
            Jan  1 10:00:07 m dovecot: pop3-login: Login: user=<carol>, method=PLAIN, rip=198.51.100.3, lip=192.0.2.1, mpid=123, TLS, session=<def>
            """)
        let e = r.authEvents
        #expect(e.count == 4, "\(e)")
        #expect(e.first { $0.proto == "smtp" && !$0.success }?.ip == "203.0.113.9")
        #expect(e.first { $0.proto == "smtp" && $0.success }?.user == "alice@example.org")
        #expect(e.first { $0.proto == "smtp" && $0.success }?.ip == "198.51.100.2")
        let imap = e.first { $0.proto == "imap" }
        #expect(imap?.count == 3 && imap?.success == false && imap?.user == "bob")
        #expect(e.first { $0.proto == "pop3" }?.success == true)
        // Dovecot's auth process repeats Postfix's attempt: not counted twice.
        #expect(e.filter { !$0.success }.count == 2)
    }

    /// A session's lines before its first message begin that message's raw lines (the session's
    /// buffer is taken over), a second message of the session has only its own; a drain gives the
    /// raw lines in the order of the messages, whatever the order of the dictionary that held them.
    @Test func sessionLinesBeginTheirMessageAndRawLinesComeInMessageOrder() {
        let lines = [
            "Jan  1 10:00:00 m postfix/smtpd[7]: connect from a.example[192.0.2.1]",
            "Jan  1 10:00:00 m postfix/smtpd[7]: Anonymous TLS connection established from a.example[192.0.2.1]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
            "Jan  1 10:00:01 m postfix/smtpd[7]: 1111AAAA11: client=a.example[192.0.2.1]",
            "Jan  1 10:00:02 m postfix/smtpd[7]: 2222BBBB22: client=a.example[192.0.2.1]",
            "Jan  1 10:00:02 m postfix/qmgr[3]: 2222BBBB22: from=<s@a.example>, size=10, nrcpt=1 (queue active)",
            "Jan  1 10:00:03 m postfix/smtpd[7]: disconnect from a.example[192.0.2.1] ehlo=1 mail=2 rcpt=2 data=2 quit=1 commands=8",
        ] + (0..<40).map { "Jan  1 10:00:04 m postfix/qmgr[3]: \(String(format: "%05X", 0x30000 + $0))CCCCC: from=<s\($0)@a.example>, size=10, nrcpt=1 (queue active)" }
        var tracker = Tracker()
        var years = YearTracker(startingYear: 2020)
        let parser = Parser()
        for l in lines {
            var bytes = Array(l.utf8)
            bytes.withUnsafeMutableBufferPointer { b in
                let buf = UnsafeBufferPointer(b)
                let r = parser.parse(buf)
                tracker.process(r, line: buf, time: years.unixSeconds(for: r.header.time))
            }
        }
        let out = tracker.drain()
        #expect(out.rawLines.messages.map(\.messageID) == Array(1...42))
        let text = out.rawLines.messages.indices.map { String(decoding: out.rawLines.lines(at: $0), as: UTF8.self) }
        #expect(text[0] == lines[0...2].joined(separator: "\n"))
        #expect(text[1] == lines[3...4].joined(separator: "\n"))
        #expect(text[41] == lines[45])
    }

    /// A content filter's re-injected queue logged before the hop that names it: its lines, chained under
    /// its own id until the merge, follow the original's in the one message, each line once; the rest
    /// of the message's lines follow them, whether a drain came between or not.
    @Test(arguments: [false, true])
    func aMergedHopKeepsTheLinesOfBothQueues(drainBetween: Bool) {
        let lines = [
            "Jan  1 10:00:00 m postfix/smtpd[1]: 3333CCCC33: client=ext.example[203.0.113.9]",
            "Jan  1 10:00:00 m postfix/qmgr[3]: 3333CCCC33: from=<s@ext.example>, size=100, nrcpt=1 (queue active)",
            "Jan  1 10:00:01 m postfix/smtpd[5]: 4444DDDD44: client=localhost[127.0.0.1]",
            "Jan  1 10:00:01 m postfix/qmgr[3]: 4444DDDD44: from=<s@ext.example>, size=200, nrcpt=1 (queue active)",
            "Jan  1 10:00:01 m postfix/smtp[4]: 3333CCCC33: to=<a@m.example>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4444DDDD44)",
            "Jan  1 10:00:01 m postfix/qmgr[3]: 3333CCCC33: removed",
            "Jan  1 10:00:02 m postfix/local[6]: 4444DDDD44: to=<a@m.example>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)",
            "Jan  1 10:00:02 m postfix/qmgr[3]: 4444DDDD44: removed",
        ]
        var tracker = Tracker()
        var years = YearTracker(startingYear: 2020)
        let parser = Parser()
        var outs: [TrackerOutput] = []
        for (i, l) in lines.enumerated() {
            var bytes = Array(l.utf8)
            bytes.withUnsafeMutableBufferPointer { b in
                let buf = UnsafeBufferPointer(b)
                let r = parser.parse(buf)
                tracker.process(r, line: buf, time: years.unixSeconds(for: r.header.time))
            }
            if drainBetween && i == 3 { outs.append(tracker.drain()) }
        }
        outs.append(tracker.drain())
        // As the store keeps them: a block per drain, a merged child's references handed to its parent,
        // read back in the order of the blocks.
        var stored: [(block: Int, id: Int64, text: String)] = []
        for (block, out) in outs.enumerated() {
            for (i, m) in out.rawLines.messages.enumerated() {
                stored.append((block, m.messageID, String(decoding: out.rawLines.lines(at: i), as: UTF8.self)))
            }
            for (child, parent) in out.merged {
                for j in stored.indices where stored[j].id == child { stored[j].id = parent }
            }
        }
        #expect(Set(stored.map(\.id)) == [1])
        let text = stored.map(\.text).joined(separator: "\n").split(separator: "\n").map(String.init)
        #expect(text.sorted() == lines.sorted())
        #expect(Array(text.prefix(2)) == Array(lines.prefix(2)))
        #expect(text.last == lines.last)
    }

    @Test func deferralsThenSentCountAttempts() {
        let r = run("""
            Jan  1 10:00:00 m postfix/smtpd[1]: 1111AAAA11: client=a.example[192.0.2.1]
            Jan  1 10:00:00 m postfix/cleanup[2]: 1111AAAA11: message-id=<m1@a.example>
            Jan  1 10:00:00 m postfix/qmgr[3]: 1111AAAA11: from=<s@a.example>, size=100, nrcpt=1 (queue active)
            Jan  1 10:00:01 m postfix/smtp[4]: 1111AAAA11: to=<r@b.example>, relay=mx.b.example[198.51.100.1]:25, delay=1, delays=0/0/0/1, dsn=4.7.1, status=deferred (host mx.b.example[198.51.100.1] said: 450 4.7.1 greylisted (in reply to RCPT TO command))
            Jan  1 10:05:00 m postfix/error[5]: 1111AAAA11: to=<r@b.example>, relay=none, delay=300, delays=300/0/0/0, dsn=4.7.1, status=deferred (delivery temporarily suspended: host mx.b.example[198.51.100.1] refused to talk to me)
            Jan  1 10:10:00 m postfix/smtp[4]: 1111AAAA11: to=<r@b.example>, relay=mx.b.example[198.51.100.1]:25, delay=600, delays=599/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as X1Y2Z3W4)
            Jan  1 10:10:00 m postfix/qmgr[3]: 1111AAAA11: removed
            """)
        #expect(r.outcomes == ["1111AAAA11 <m1@a.example> from=<s@a.example> to=<r@b.example> sent attempts=3 returned=false outbound"])
    }

    /// A recipient's address with bytes that are not UTF-8 is kept repaired (as `String(decoding:)`
    /// repairs it) and its later attempts are still found as the same recipient's.
    @Test func aRecipientWithInvalidUTF8IsOneRecipient() {
        let lines: [[UInt8]] = [
            Array("Jan  1 10:00:00 m postfix/qmgr[3]: 1111AAAA11: from=<s@a.example>, size=100, nrcpt=1 (queue active)".utf8),
            Array("Jan  1 10:00:01 m postfix/smtp[4]: 1111AAAA11: to=<r".utf8) + [0xC3, 0x28] + Array("@b.example>, relay=mx.b.example[198.51.100.1]:25, delay=1, delays=0/0/0/1, dsn=4.7.1, status=deferred (450 greylisted)".utf8),
            Array("Jan  1 10:10:00 m postfix/smtp[4]: 1111AAAA11: to=<r".utf8) + [0xC3, 0x28] + Array("@b.example>, relay=mx.b.example[198.51.100.1]:25, delay=600, delays=599/0/0/1, dsn=2.0.0, status=sent (250 Ok)".utf8),
        ]
        var tracker = Tracker()
        let parser = Parser()
        var years = YearTracker(startingYear: 2020)
        for line in lines {
            line.withUnsafeBufferPointer { b in
                let record = parser.parse(b)
                tracker.process(record, line: b, time: years.unixSeconds(for: record.header.time))
            }
        }
        let m = tracker.drain().messages
        #expect(m.count == 1)
        #expect(m.first?.recipients.count == 1)
        let r = m.first?.recipients.first
        #expect(r?.recipient == "r\u{FFFD}(@b.example")
        #expect(r?.attempts == 2 && r?.outcome == .sent && r?.reason == "250 Ok")
        #expect(r?.log.map(\.status) == ["deferred", "sent"])
    }

    @Test func queueIDReuseStartsANewMessage() {
        let r = run("""
            Jan  1 10:00:00 m postfix/pickup[1]: 2222BBBB22: uid=0 from=<root>
            Jan  1 10:00:00 m postfix/qmgr[3]: 2222BBBB22: from=<root@m.example>, size=10, nrcpt=1 (queue active)
            Jan  1 10:00:00 m postfix/local[4]: 2222BBBB22: to=<root@m.example>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (delivered to mailbox)
            Jan  1 10:00:00 m postfix/qmgr[3]: 2222BBBB22: removed
            Jan  1 11:00:00 m postfix/pickup[1]: 2222BBBB22: uid=0 from=<root>
            Jan  1 11:00:00 m postfix/qmgr[3]: 2222BBBB22: from=<cron@m.example>, size=10, nrcpt=1 (queue active)
            Jan  1 11:00:00 m postfix/local[4]: 2222BBBB22: to=<root@m.example>, relay=local, delay=0.1, delays=0/0/0/0.1, dsn=5.2.2, status=bounced (mailbox full)
            Jan  1 11:00:00 m postfix/qmgr[3]: 2222BBBB22: removed
            """)
        #expect(r.outcomes == [
            "2222BBBB22 <?> from=<root@m.example> to=<root@m.example> sent attempts=1 returned=false local",
            "2222BBBB22 <?> from=<cron@m.example> to=<root@m.example> bounced attempts=1 returned=false local",
        ])
    }

    @Test func contentFilterHopWhoseReinjectionIsLoggedAfterTheHop() {
        let r = run("""
            Jan  1 10:00:00 m postfix/smtpd[1]: 3333CCCC33: client=ext.example[203.0.113.9]
            Jan  1 10:00:00 m postfix/cleanup[2]: 3333CCCC33: message-id=<m3@ext.example>
            Jan  1 10:00:00 m postfix/qmgr[3]: 3333CCCC33: from=<s@ext.example>, size=100, nrcpt=1 (queue active)
            Jan  1 10:00:01 m postfix/smtp[4]: 3333CCCC33: to=<postmaster@m.example>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 4444DDDD44)
            Jan  1 10:00:01 m postfix/qmgr[3]: 3333CCCC33: removed
            Jan  1 10:00:01 m postfix/smtpd[5]: 4444DDDD44: client=localhost[127.0.0.1]
            Jan  1 10:00:01 m postfix/cleanup[2]: 4444DDDD44: message-id=<m3@ext.example>
            Jan  1 10:00:01 m postfix/qmgr[3]: 4444DDDD44: from=<s@ext.example>, size=200, nrcpt=1 (queue active)
            Jan  1 10:00:02 m postfix/local[6]: 4444DDDD44: to=<alice@m.example>, orig_to=<postmaster@m.example>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
            Jan  1 10:00:02 m postfix/qmgr[3]: 4444DDDD44: removed
            """)
        #expect(r.outcomes == ["3333CCCC33;4444DDDD44 <m3@ext.example> from=<s@ext.example> to=<alice@m.example> orig_to=<postmaster@m.example> sent attempts=1 returned=false inbound"])
    }

    @Test func expiredWithNotificationAndNullSenderExpiry() {
        let r = run("""
            Jan  1 10:00:00 m postfix/qmgr[3]: 5555EEEE55: from=<s@m.example>, size=100, nrcpt=1 (queue active)
            Jan  1 10:00:01 m postfix/smtp[4]: 5555EEEE55: to=<r@dead.example>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to dead.example[192.0.2.66]:25: Connection refused)
            Jan  6 10:00:01 m postfix/qmgr[3]: 5555EEEE55: from=<s@m.example>, status=expired, returned to sender
            Jan  6 10:00:01 m postfix/cleanup[2]: 6666FFFF66: message-id=<20200106100001.6666FFFF66@m.example>
            Jan  6 10:00:01 m postfix/qmgr[3]: 6666FFFF66: from=<>, size=2000, nrcpt=1 (queue active)
            Jan  6 10:00:01 m postfix/bounce[7]: 5555EEEE55: sender non-delivery notification: 6666FFFF66
            Jan  6 10:00:01 m postfix/qmgr[3]: 5555EEEE55: removed
            Jan  6 10:00:02 m postfix/local[6]: 6666FFFF66: to=<s@m.example>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
            Jan  6 10:00:02 m postfix/qmgr[3]: 6666FFFF66: removed
            Jan  6 11:00:00 m postfix/qmgr[3]: 7777AAAA77: from=<>, size=100, nrcpt=1 (queue active)
            Jan  6 11:00:01 m postfix/smtp[4]: 7777AAAA77: to=<r@dead.example>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to dead.example[192.0.2.66]:25: Connection refused)
            Jan  7 11:00:01 m postfix/qmgr[3]: 7777AAAA77: from=<>, status=expired, returned to sender
            Jan  7 11:00:01 m postfix/qmgr[3]: 7777AAAA77: removed
            """)
        // The notification is filed under its original, not exported as a message of its own.
        #expect(r.outcomes == [
            "5555EEEE55 <?> from=<s@m.example> to=<r@dead.example> expired attempts=1 returned=true outbound",
            "7777AAAA77 <?> from=<> to=<r@dead.example> expired attempts=1 returned=false outbound",
        ])
        let ndr = r.messages.values.first { $0.firstQueueID == "6666FFFF66" }
        #expect(ndr?.origin == .notification)
        #expect(ndr?.parentID == r.messages.values.first { $0.firstQueueID == "5555EEEE55" }?.id)
    }

    /// Seen with a real Postfix: the notification was delivered and removed, and its original removed
    /// too, before the bounce daemon logged which queue the notification was.
    /// Also when the notification's line comes in the next batch (a live import's batch ends between).
    @Test(arguments: [false, true]) func aNotificationLoggedAfterBothQueuesWereRemoved(nextBatch: Bool) {
        let lines = """
            Jan  1 10:00:00 m postfix/qmgr[3]: 901D71583D: from=<bob@m.example>, size=100, nrcpt=1 (queue active)
            Jan  1 10:00:01 m postfix/smtp[4]: 901D71583D: to=<x@unreachable.example>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to unreachable.example[192.0.2.66]:25: Connection refused)
            Jan  6 10:00:01 m postfix/qmgr[3]: 901D71583D: from=<bob@m.example>, status=expired, returned to sender
            Jan  6 10:00:01 m postfix/cleanup[2]: 0260C15811: message-id=<20200106100001.0260C15811@m.example>
            Jan  6 10:00:01 m postfix/qmgr[3]: 0260C15811: from=<>, size=2465, nrcpt=1 (queue active)
            Jan  6 10:00:01 m postfix/qmgr[3]: 901D71583D: removed
            Jan  6 10:00:01 m postfix/local[6]: 0260C15811: to=<bob@m.example>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)
            Jan  6 10:00:01 m postfix/qmgr[3]: 0260C15811: removed
            Jan  6 10:00:01 m postfix/bounce[7]: 901D71583D: sender non-delivery notification: 0260C15811
            """.split(separator: "\n").map(String.init)
        var r = Replay()
        if nextBatch {
            r.feed(Array(lines.dropLast()))
            r.feed([lines.last!])
        } else {
            r.feed(lines)
        }
        #expect(r.outcomes == ["901D71583D <?> from=<bob@m.example> to=<x@unreachable.example> expired attempts=1 returned=true outbound"])
        let ndr = r.messages.values.first { $0.firstQueueID == "0260C15811" }
        #expect(ndr?.origin == .notification)
        #expect(ndr?.parentID == r.messages.values.first { $0.firstQueueID == "901D71583D" }?.id)
        #expect(r.messages.count == 2)
    }

    @Test func multiRecipientMixedOutcomesAndInFlightDeferral() {
        let r = run("""
            Jan  1 10:00:00 m postfix/smtpd[1]: 8888BBBB88: client=app[10.0.0.5], sasl_method=PLAIN, sasl_username=app
            Jan  1 10:00:00 m postfix/qmgr[3]: 8888BBBB88: from=<app@m.example>, size=100, nrcpt=3 (queue active)
            Jan  1 10:00:01 m postfix/smtp[4]: 8888BBBB88: to=<a@x.example>, relay=mx.x.example[198.51.100.2]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
            Jan  1 10:00:01 m postfix/smtp[4]: 8888BBBB88: to=<b@x.example>, relay=mx.x.example[198.51.100.2]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx.x.example[198.51.100.2] said: 550 5.1.1 unknown (in reply to RCPT TO command))
            Jan  1 10:00:02 m postfix/smtp[5]: 8888BBBB88: to=<c@y.example>, relay=mx.y.example[198.51.100.3]:25, delay=2, delays=0/0/0/2, dsn=4.2.0, status=deferred (host mx.y.example[198.51.100.3] said: 421 4.2.0 try later (in reply to end of DATA command))
            """)
        #expect(r.outcomes == [
            "8888BBBB88 <?> from=<app@m.example> to=<a@x.example> sent attempts=1 returned=false outbound in-flight",
            "8888BBBB88 <?> from=<app@m.example> to=<b@x.example> bounced attempts=1 returned=false outbound in-flight",
            "8888BBBB88 <?> from=<app@m.example> to=<c@y.example> deferred attempts=1 returned=false outbound in-flight",
        ])
    }

    @Test func liveStateSurvivesARestart() {
        let first = """
            Jan  1 10:00:00 m postfix/smtpd[1]: 9999CCCC99: client=ext.example[203.0.113.9]
            Jan  1 10:00:00 m postfix/qmgr[3]: 9999CCCC99: from=<s@ext.example>, size=100, nrcpt=1 (queue active)
            Jan  1 10:00:01 m postfix/smtp[4]: 9999CCCC99: to=<postmaster@m.example>, relay=127.0.0.1[127.0.0.1]:10024, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as AAAA1111AA)
            Jan  1 10:00:01 m postfix/qmgr[3]: 9999CCCC99: removed
            """
        let second = """
            Jan  1 10:00:01 m postfix/smtpd[5]: AAAA1111AA: client=localhost[127.0.0.1]
            Jan  1 10:00:01 m postfix/qmgr[3]: AAAA1111AA: from=<s@ext.example>, size=200, nrcpt=1 (queue active)
            Jan  1 10:00:02 m postfix/local[6]: AAAA1111AA: to=<alice@m.example>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
            Jan  1 10:00:02 m postfix/qmgr[3]: AAAA1111AA: removed
            """
        var a = Replay()
        a.feed(first.split(separator: "\n").map(String.init))
        var b = Replay()
        b.tracker = Tracker(restoring: Array(a.messages.values), nextID: a.tracker.nextID)
        b.messages = a.messages
        b.feed(second.split(separator: "\n").map(String.init))
        var whole = Replay()
        whole.feed((first + "\n" + second).split(separator: "\n").map(String.init))
        #expect(b.outcomes == whole.outcomes)
        #expect(whole.outcomes == ["9999CCCC99;AAAA1111AA <?> from=<s@ext.example> to=<alice@m.example> sent attempts=1 returned=false inbound"])
    }

    @Test func quietMessagesAreLetGoSoMemoryStaysBounded() {
        var t = Tracker()
        t.maxIdle = 3600
        let parser = Parser()
        var years = YearTracker(startingYear: 2024)
        for i in 0..<60_000 {
            let line = "Jan  1 \(String(format: "%02d", i / 3600 % 24)):\(String(format: "%02d", i / 60 % 60)):\(String(format: "%02d", i % 60)) m postfix/qmgr[3]: \(String(format: "%010X", i)): from=<s@m.example>, size=1, nrcpt=1 (queue active)"
            var bytes = Array(line.utf8)
            bytes.withUnsafeMutableBufferPointer { b in
                let buf = UnsafeBufferPointer(b)
                let r = parser.parse(buf)
                t.process(r, line: buf, time: years.unixSeconds(for: r.header.time))
            }
            if i % 5000 == 0 { _ = t.drain() }
        }
        _ = t.drain()
        // At most the last hour of messages, plus those since the last sweep (every 10,000 lines).
        #expect(t.liveMessageCount <= 3601 + 10_000)
    }
}

@Suite struct DomainMappingTests {
    @Test func domainsAreLowerCasedAndProvidersCountedAsOne() {
        let m = DomainMapping()
        #expect(m.domain(of: "alice@example.org") == "example.org")
        #expect(m.domain(of: "Bob@Hotmail.COM") == "outlook.com")
        #expect(m.domain(of: "x@googlemail.com") == "gmail.com")
        #expect(m.domain(of: "\"a@b\"@Example.ORG") == "example.org")
        #expect(m.domain(of: "post@Bücher.DE") == "bücher.de")
        #expect(m.domain(of: "MAILER-DAEMON") == "")
        #expect(m.domain(of: "nobody@") == "")
        #expect(m.map(domain: "LIVE.com") == "outlook.com")
    }

    @Test func aWorkspaceFileMovesAndAddsDomains() {
        let m = DomainMapping(overriding: ["example.com": ["example.net", "hotmail.com"]])
        #expect(m.domain(of: "a@EXAMPLE.net") == "example.com")
        // Moved out of its default group.
        #expect(m.domain(of: "a@hotmail.com") == "example.com")
        #expect(m.domain(of: "a@live.com") == "outlook.com")
    }
}
