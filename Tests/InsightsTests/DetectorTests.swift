import Foundation
import Ingest
import Store
import Testing
import Tracking
@testable import Insights

/// Log lines of whole messages, at times given as minutes after 2026-01-01 00:00 UTC.
struct LogBuilder {
    var lines: [String] = []
    var n = 0
    static let start: Int64 = 1_767_225_600 // 2026-01-01T00:00:00Z

    static func stamp(_ minutes: Int) -> String {
        let d = Date(timeIntervalSince1970: TimeInterval(start + Int64(minutes) * 60))
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "MMM dd HH:mm:ss"
        var s = f.string(from: d)
        if s[s.index(s.startIndex, offsetBy: 4)] == "0" { s.replaceSubrange(s.index(s.startIndex, offsetBy: 4)...s.index(s.startIndex, offsetBy: 4), with: " ") }
        return s
    }

    /// An outbound message: `status` sent, bounced or deferred (still in the queue).
    mutating func outbound(at minute: Int, to rcpt: String = "x@example.net", status: String = "sent",
                           reply: String = "250 2.0.0 Ok", relay: String = "mx.example.net[192.0.2.10]:25",
                           from sender: String = "app@mx.example") {
        n += 1
        let q = String(format: "%05X%05X", n, minute)
        let t = Self.stamp(minute)
        let dsn = status == "sent" ? "2.0.0" : status == "bounced" ? "5.7.1" : "4.7.0"
        lines.append("\(t) mx postfix/smtpd[1]: \(q): client=app[10.0.0.5]")
        lines.append("\(t) mx postfix/qmgr[3]: \(q): from=<\(sender)>, size=300, nrcpt=1 (queue active)")
        lines.append("\(t) mx postfix/smtp[4]: \(q): to=<\(rcpt)>, relay=\(relay), delay=1, delays=0/0/0/1, dsn=\(dsn), status=\(status) (\(reply))")
        if status != "deferred" { lines.append("\(t) mx postfix/qmgr[3]: \(q): removed") }
    }

    var text: String { lines.joined(separator: "\n") + "\n" }
}

func seeded(_ build: (inout LogBuilder) -> Void) throws -> (String, AppDatabase) {
    var b = LogBuilder()
    build(&b)
    let dir = NSTemporaryDirectory() + "lm-insights-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try b.text.write(toFile: dir + "/mail.log", atomically: true, encoding: .utf8)
    let db = try AppDatabase.open(workspace: dir + "/ws")
    let importer = try Importer(db: db, format: .default, startingYear: 2026, domains: DomainMapping())
    _ = try importer.importStream(path: dir + "/mail.log", source: "test")
    return (dir, db)
}

func at(_ minute: Int) -> Int64 { LogBuilder.start + Int64(minute) * 60 }

@Suite struct DetectorTests {
    @Test func highBounceRateOverTheWindowWithAMinimumAndACooldown() throws {
        let (dir, db) = try seeded { b in
            for i in 0..<27 { b.outbound(at: 60 + i) }
            for i in 0..<3 { b.outbound(at: 100 + i, status: "bounced", reply: "550 5.1.1 unknown user") }
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = HighBounceRate()
        let found = try d.detect(at: at(180), db: db, settings: DetectorSettings())
        #expect(found.count == 1)
        #expect(found.first?.detailValues["rate_percent"] == "10.0" && found.first?.rating == "bad")
        // Above a higher threshold: nothing.
        var s = DetectorSettings()
        s.bounceRatePercent = 15
        #expect(try d.detect(at: at(180), db: db, settings: s).isEmpty)
        // Too few deliveries to speak of a rate.
        s = DetectorSettings()
        s.bounceMinimum = 50
        #expect(try d.detect(at: at(180), db: db, settings: s).isEmpty)
        // Outside the window: nothing.
        #expect(try d.detect(at: at(60 * 12), db: db, settings: DetectorSettings()).isEmpty)
        // The engine stores it once per window.
        let engine = InsightsEngine(db: db, detectors: [d])
        #expect(try engine.runOnce(at: at(180)).count == 1)
        #expect(try engine.runOnce(at: at(200)).isEmpty)
        #expect(try engine.runOnce(at: at(300)).isEmpty, "same window: the cooldown")
    }

    @Test func perSenderDomainWhenTheServerSendsForSeveral() throws {
        let (dir, db) = try seeded { b in
            for i in 0..<40 { b.outbound(at: 60 + i, from: "news@shop.example") }
            for i in 0..<20 { b.outbound(at: 60 + i, status: i < 8 ? "bounced" : "sent", reply: "550 5.1.1 unknown", from: "list@club.example") }
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 8 of 60 overall (13%), 8 of 20 for club.example (40%).
        var s = DetectorSettings()
        s.bounceRatePercent = 20
        let found = try HighBounceRate().detect(at: at(180), db: db, settings: s)
        #expect(found.map { $0.detailValues["sender_domain"] } == ["club.example"])
        #expect(found.first?.detailValues["rate_percent"] == "40.0")
    }

    @Test func inactivityAfterActivity() throws {
        let (dir, db) = try seeded { b in b.outbound(at: 600) }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = MailInactivity()
        #expect(try d.detect(at: at(600 + 60 * 20), db: db, settings: DetectorSettings()).isEmpty, "not yet 24 hours")
        let found = try d.detect(at: at(600 + 60 * 26), db: db, settings: DetectorSettings())
        #expect(found.count == 1 && found[0].kind == "mail_inactivity")
        #expect(try d.detect(at: at(600 + 60 * 60), db: db, settings: DetectorSettings()).isEmpty, "no activity before the silence either")
        // One insight for one silence, however often it is looked at.
        let engine = InsightsEngine(db: db, detectors: [d])
        var made = 0
        for h in 25...47 { made += try engine.runOnce(at: at(600 + 60 * h)).count }
        #expect(made == 1)
    }

    @Test func deferredRecipientsPilingUp() throws {
        let (dir, db) = try seeded { b in
            for i in 0..<3 { b.outbound(at: 60 + i, status: "deferred", reply: "421 4.7.0 try again later") }
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = DeferredPiling()
        var s = DetectorSettings()
        #expect(try d.detect(at: at(120), db: db, settings: s).isEmpty)
        s.deferredCount = 3
        let found = try d.detect(at: at(120), db: db, settings: s)
        #expect(found.first?.detailValues["deferred"] == "3")
        s = DetectorSettings()
        #expect(try d.detect(at: at(60 + 60 * 25), db: db, settings: s).first?.detailValues["oldest_hours"] == "25", "waiting too long")
    }

    @Test func loginAttacksFromTheLogsAndTheWeeklyBlocklistSummary() throws {
        // 120 failed IMAP logins in an hour, from the log; Postfix SASL failures too.
        let (dir, db) = try seeded { b in
            for i in 0..<60 {
                let t = LogBuilder.stamp(600 + i / 2)
                b.lines.append("\(t) mx dovecot: imap-login: Disconnected (auth failed, 2 attempts in 4 secs): user=<u\(i)>, method=PLAIN, rip=203.0.113.\(i % 7), lip=192.0.2.1, session=<s\(i)>")
            }
            b.lines.append("\(LogBuilder.stamp(640)) mx postfix/smtpd[9]: warning: unknown[198.51.100.4]: SASL LOGIN authentication failed: UGFzc3dvcmQ6")
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let d = AuthAttack()
        #expect(try d.detect(at: at(600), db: db, settings: DetectorSettings()).isEmpty)
        let found = try d.detect(at: at(650), db: db, settings: DetectorSettings())
        try #require(found.count == 1)
        #expect(found[0].detailValues["failures"] == "121")
        #expect(found[0].detailValues["addresses"] == "8")
        _ = try db.insertInsight(found[0])
        // Then quiet for 6 hours.
        #expect(try d.detect(at: at(660), db: db, settings: DetectorSettings()).isEmpty)

        let w = BlockedWeekly()
        #expect(try w.detect(at: at(700), db: db, settings: DetectorSettings()).isEmpty)
        try db.block(BlockedAddress(cidr: "203.0.113.1", reason: "r", source: "auto", createdAt: at(640), expiresAt: at(700), failures: 30))
        try db.block(BlockedAddress(cidr: "10.9.0.0/16", reason: "r", source: "manual", createdAt: at(641), expiresAt: nil))
        let weekly = try w.detect(at: at(700), db: db, settings: DetectorSettings())
        try #require(weekly.count == 1)
        #expect(weekly[0].detailValues["blocked"] == "2")
        #expect(weekly[0].detailValues["automatic"] == "1")
        #expect(weekly[0].rating == "info")
        _ = try db.insertInsight(weekly[0])
        #expect(try w.detect(at: at(800), db: db, settings: DetectorSettings()).isEmpty)
    }

    @Test func blockedByBigProviders() throws {
        let (dir, db) = try seeded { b in
            b.outbound(at: 60, to: "a@outlook.com", status: "bounced",
                       reply: "host outlook-com.olc.protection.outlook.com[52.101.0.1] said: 550 5.7.1 Unfortunately, messages from [203.0.113.7] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3140)",
                       relay: "outlook-com.olc.protection.outlook.com[52.101.0.1]:25")
            b.outbound(at: 61, to: "b@outlook.com", status: "bounced",
                       reply: "host outlook-com.olc.protection.outlook.com[52.101.0.2] said: 550 5.7.1 block list (S3140)",
                       relay: "outlook-com.olc.protection.outlook.com[52.101.0.2]:25")
            b.outbound(at: 62, to: "c@gmail.com", status: "deferred",
                       reply: "host gmail-smtp-in.l.google.com[142.250.0.26] said: 421-4.7.0 Our system has detected an unusual rate of unsolicited mail originating from your IP address",
                       relay: "gmail-smtp-in.l.google.com[142.250.0.26]:25")
            b.outbound(at: 63, to: "d@example.org", status: "bounced", reply: "host mx.example.org[192.0.2.1] said: 550 5.1.1 user unknown",
                       relay: "mx.example.org[192.0.2.1]:25")
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let found = try BlockedByRemote().detect(at: at(120), db: db, settings: DetectorSettings())
        #expect(found.map { $0.detailValues["provider"]! } == ["Google", "Microsoft"])
        let ms = try #require(found.first { $0.detailValues["provider"] == "Microsoft" })
        #expect(ms.detailValues["deliveries"] == "2" && ms.detailValues["reply"]?.contains("S3140") == true)
        #expect(ms.detailValues["host"] == "outlook-com.olc.protection.outlook.com")
        #expect(BlockedByRemote.provider(of: "550 5.7.1 Service unavailable; client [1.2.3.4] blocked using zen.spamhaus.org") == "Spamhaus")
        #expect(BlockedByRemote.provider(of: "554 5.7.1 [TSS04] Messages from 1.2.3.4 temporarily deferred") == "Yahoo")
        #expect(BlockedByRemote.provider(of: "250 ok queued by mimecast") == nil)
        #expect(BlockedByRemote.provider(of: "550 rejected by Mimecast, policy") == "Mimecast")
    }

    @Test func historicalReplayArchivesAndSummarises() throws {
        let (dir, db) = try seeded { b in
            // Day 1: a bounce storm. Day 3: quiet traffic.
            for i in 0..<20 { b.outbound(at: 60 + i, status: "bounced", reply: "550 5.1.1 unknown") }
            for i in 0..<20 { b.outbound(at: 60 * 48 + i) }
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = InsightsEngine(db: db)
        let n = try engine.replayImported()
        #expect(n >= 2, "the bounce storm, and the silence of day 2")
        var all = InsightFilter()
        all.active = nil
        let list = try db.insights(all)
        let storm = try #require(list.first { $0.kind == "high_bounce_rate" })
        #expect(!storm.active, "history is archived")
        #expect(list.contains { $0.kind == "mail_inactivity" })
        let summary = try #require(list.first { $0.kind == "import_summary" })
        #expect(summary.detailValues["outbound_bounced"] == "20" && summary.detailValues["outbound_sent"] == "20")
        #expect(try engine.replayImported() == 0, "replayed already")
        #expect(!list.contains { $0.kind == "deferred_piling" }, "the queue of now says nothing of the past")
    }

    @Test func aStoppedReplayGoesOnLater() throws {
        let (dir, db) = try seeded { b in
            for i in 0..<20 { b.outbound(at: 60 + i, status: "bounced", reply: "550 5.1.1 unknown") }
            for i in 0..<20 { b.outbound(at: 60 * 48 + i) }
        }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let engine = InsightsEngine(db: db)
        var steps = 0
        _ = try engine.replayImported(shouldStop: { steps += 1; return steps > 5 })
        var all = InsightFilter()
        all.active = nil
        #expect(try !db.insights(all).contains { $0.kind == "import_summary" }, "not to its end yet")
        let mark = try #require(try db.meta("insights_replayed_until").flatMap { Int64($0) })
        #expect(mark < at(60 * 48))
        _ = try engine.replayImported()
        let kinds = try db.insights(all).map(\.kind)
        #expect(kinds.filter { $0 == "import_summary" }.count == 1)
        #expect(kinds.filter { $0 == "high_bounce_rate" }.count == 1)
    }
}

/// A detector that notes where it runs.
final class WhereDetector: Detector, @unchecked Sendable {
    let kind = "where"
    let interval: Int64 = 60
    let historical = false
    private let lock = NSLock()
    private var seen: Bool?
    var onRoundsQueue: Bool? { lock.withLock { seen } }
    func detect(at now: Int64, db: AppDatabase, settings: DetectorSettings) throws -> [Insight] {
        let here = DispatchQueue.getSpecific(key: InsightsEngine.roundKey) ?? false
        lock.withLock { seen = here }
        return []
    }
}

@Suite struct InsightsEngineThreadTests {
    /// The rounds block (the store, blocklist lookups waiting for DNS timeouts): they run on the
    /// engine's queue, not on the threads Swift's tasks share with the web server.
    @Test func roundsRunOnTheEnginesOwnQueue() async throws {
        let ws = NSTemporaryDirectory() + "lightmeter-test-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let db = try AppDatabase.open(workspace: ws)
        let detector = WhereDetector()
        let engine = InsightsEngine(db: db, detectors: [detector])
        let task = Task { try await engine.run() }
        defer { task.cancel() }
        for _ in 0..<200 where detector.onRoundsQueue == nil { try await Task.sleep(for: .milliseconds(50)) }
        #expect(detector.onRoundsQueue == true)
    }
}
