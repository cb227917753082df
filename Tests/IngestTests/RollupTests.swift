import Foundation
import GRDB
import Ingest
@testable import Store
import Testing
import Tracking

/// The dashboard's counts move with every write: deferrals that end, content-filter hops, retention.
@Suite struct RollupTests {
    /// The rollups as they should be, counted again from the deliveries.
    static func recount(_ db: AppDatabase) throws -> (status: [String: Int], domain: [String: Int]) {
        try db.reader.read { db in
            var s: [String: Int] = [:], d: [String: Int] = [:]
            for r in try Row.fetchAll(db, sql: """
                SELECT m.first_seen / 900, d.direction, d.status, d.returned, d.domain FROM deliveries d JOIN messages m ON m.id = d.message_id
                WHERE m.origin != 'notification'
                """) {
                let b: Int64 = r[0], dir: String = r[1], st: String = r[2], ret: Bool = r[3], dom: String = r[4]
                s["\(b)/\(dir)/\(st)", default: 0] += 1
                if ret { s["\(b)/\(dir)/returned", default: 0] += 1 }
                if dir == "outbound" { d["\(b * 900 / 3600)/\(dom)/\(st)", default: 0] += 1 }
            }
            for r in try Row.fetchAll(db, sql: "SELECT time / 900 FROM rejections") { s["\(r[0] as Int64)/inbound/rejected", default: 0] += 1 }
            return (s, d)
        }
    }

    static func stored(_ db: AppDatabase) throws -> (status: [String: Int], domain: [String: Int]) {
        try db.reader.read { db in
            var s: [String: Int] = [:], d: [String: Int] = [:]
            for r in try Row.fetchAll(db, sql: "SELECT bucket, direction, status, n FROM rollup_status WHERE n != 0 AND size = 900") {
                s["\(r[0] as Int64)/\(r[1] as String)/\(r[2] as String)"] = r[3]
            }
            for r in try Row.fetchAll(db, sql: "SELECT bucket, domain, status, n FROM rollup_domain WHERE n != 0 AND size = 3600") {
                d["\(r[0] as Int64)/\(r[1] as String)/\(r[2] as String)"] = r[3]
            }
            return (s, d)
        }
    }

    static func expectConsistent(_ db: AppDatabase, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (a, b) = (try recount(db), try stored(db))
        #expect(a.status == b.status, sourceLocation: sourceLocation)
        #expect(a.domain == b.domain, sourceLocation: sourceLocation)
        // The larger intervals hold the sums of the smaller ones.
        try db.reader.read { db in
            let s = try Row.fetchAll(db, sql: """
                SELECT a.size, a.bucket, a.direction, a.status, a.n, (SELECT SUM(n) FROM rollup_status b WHERE b.size = 900
                    AND b.bucket * 900 / a.size = a.bucket AND b.direction = a.direction AND b.status = a.status)
                FROM rollup_status a WHERE a.size > 900 AND a.n != 0
                """)
            for r in s { #expect(r[4] as Int == r[5] as Int?, "\(r)", sourceLocation: sourceLocation) }
            let d = try Row.fetchAll(db, sql: """
                SELECT a.size, a.bucket, a.domain, a.status, a.n, (SELECT SUM(n) FROM rollup_domain b WHERE b.size = 3600
                    AND b.bucket * 3600 / a.size = a.bucket AND b.domain = a.domain AND b.status = a.status)
                FROM rollup_domain a WHERE a.size > 3600 AND a.n != 0 AND a.status != '*'
                """)
            for r in d { #expect(r[4] as Int == r[5] as Int?, "\(r)", sourceLocation: sourceLocation) }
            // The `*` rows hold every status of their domain and interval.
            let all = try Row.fetchAll(db, sql: """
                SELECT a.size, a.bucket, a.domain, a.n, (SELECT SUM(n) FROM rollup_domain b WHERE b.size = a.size AND b.bucket = a.bucket
                    AND b.domain = a.domain AND b.status != '*')
                FROM rollup_domain a WHERE a.status = '*' AND a.n != 0
                """)
            for r in all { #expect(r[3] as Int == r[4] as Int?, "\(r)", sourceLocation: sourceLocation) }
            let missing = try Int.fetchOne(db, sql: """
                SELECT count(*) FROM (SELECT size, bucket, domain FROM rollup_domain WHERE size >= 86400 AND status != '*' GROUP BY 1, 2, 3 HAVING SUM(n) != 0) x
                WHERE NOT EXISTS (SELECT 1 FROM rollup_domain c WHERE c.size = x.size AND c.bucket = x.bucket AND c.domain = x.domain AND c.status = '*')
                """) ?? 0
            #expect(missing == 0, sourceLocation: sourceLocation)
        }
    }

    /// The end of a bulk load sums the larger intervals of the domains' counts again from the hours'
    /// rows, one interval of four weeks at a time: on a thread of their own from a pool's reader while
    /// the writer builds the indexes (a workspace), or on the writer's connection (in memory). Both give
    /// what SQL sums give, and leave the intervals outside the hours of the load as they were.
    @Test func aBulkLoadSumsTheLargerIntervalsAgainOverSeveralFourWeekIntervals() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let firstHour: Int64 = 492_000, lastHour = firstHour + 24 * 7 * 11   // 11 weeks of hours
        let loaded = (firstHour + 24 * 9 + 5)...(firstHour + 24 * 7 * 10 + 3)     // the bulk load's hours
        let statuses = Rollup.outcomes + ["returned"]                           // one the sums leave out
        var rng = SystemRandomNumberGenerator()
        var hourRows: [(Int64, String, String, Int)] = []
        for hour in stride(from: firstHour, through: lastHour, by: 5) {
            for d in 0..<6 where Int.random(in: 0..<3, using: &rng) > 0 {
                let status = statuses.randomElement(using: &rng)!
                hourRows.append((hour, "d\(d).example", status, Int.random(in: -2...9, using: &rng)))
            }
        }
        // Rows of the larger intervals before the bulk load's end: wrong where they will be summed again.
        let stale: [(Int64, Int64, String, String, Int)] = Rollup.domainSizes.dropFirst().flatMap { size in
            let per = size / Rollup.domainBucket
            return stride(from: firstHour / per, through: lastHour / per, by: 1).map { (size, $0, "d1.example", "sent", 1000) }
        }
        func load(_ db: AppDatabase) throws {
            try db.writer.write { db in
                for (hour, domain, status, n) in hourRows {
                    try db.execute(sql: """
                        INSERT INTO rollup_domain (size, bucket, domain, status, n) VALUES (3600, ?, ?, ?, ?)
                        ON CONFLICT DO UPDATE SET n = n + excluded.n
                        """, arguments: [hour, domain, status, n])
                }
                for (size, bucket, domain, status, n) in stale {
                    try db.execute(sql: "INSERT OR REPLACE INTO rollup_domain (size, bucket, domain, status, n) VALUES (?, ?, ?, ?, ?)",
                                   arguments: [size, bucket, domain, status, n])
                }
                try AppDatabase.setMeta(AppDatabase.bulkRollupKey, "\(loaded.lowerBound) \(loaded.upperBound)", db)
            }
        }
        // What the larger intervals should hold: SQL's sums of the hours, for those that overlap the load.
        func expected(_ db: AppDatabase) throws -> [Row] {
            try db.reader.read { db in
                var rows: [Row] = []
                for size in Rollup.domainSizes.dropFirst() {
                    let per = size / Rollup.domainBucket
                    let (lo, hi) = (loaded.lowerBound / per, loaded.upperBound / per)
                    rows += try Row.fetchAll(db, sql: """
                        SELECT ?1 AS size, bucket / ?2 AS bucket, domain, status, SUM(n) AS n FROM rollup_domain
                        WHERE size = 3600 AND status IN ('bounced', 'deferred', 'expired', 'pending', 'sent') AND bucket / ?2 BETWEEN ?3 AND ?4
                        GROUP BY bucket / ?2, domain, status HAVING SUM(n) != 0
                        UNION ALL
                        SELECT ?1, bucket / ?2, domain, '*', SUM(n) FROM rollup_domain
                        WHERE size = 3600 AND status IN ('bounced', 'deferred', 'expired', 'pending', 'sent') AND bucket / ?2 BETWEEN ?3 AND ?4
                            AND ?1 >= 86400
                        GROUP BY bucket / ?2, domain HAVING SUM(n) != 0
                        UNION ALL
                        SELECT size, bucket, domain, status, n FROM rollup_domain WHERE size = ?1 AND bucket NOT BETWEEN ?3 AND ?4
                        """, arguments: [size, per, lo, hi])
                }
                return rows.sorted { "\($0)" < "\($1)" }
            }
        }
        func coarse(_ db: AppDatabase) throws -> [Row] {
            try db.reader.read { db in
                try Row.fetchAll(db, sql: "SELECT size, bucket, domain, status, n FROM rollup_domain WHERE size > 3600")
            }.sorted { "\($0)" < "\($1)" }
        }
        #expect(Rollup.coarseWindows(loaded).count >= 3)
        for db in [try AppDatabase.open(workspace: ws), try AppDatabase.inMemory()] {
            try load(db)
            let want = try expected(db)
            #expect(try db.isBulkLoading() == false)
            #expect(try db.finishBulkLoad() == 0)
            #expect(try db.reader.read { try AppDatabase.meta(AppDatabase.bulkRollupKey, $0) } == nil)
            let got = try coarse(db)
            #expect(got.count > 100 && got == want, "\(got.count) rows, \(want.count) expected")
        }
    }

    @Test func periodsSplitIntoAlignedPieces() {
        let week: Int64 = 604_800, day: Int64 = 86400
        #expect(Rollup.pieces(0, 2 * week, sizes: [3600, day, week]).map { [$0.size, $0.from, $0.to] } == [[week, 0, 2]])
        let p = Rollup.pieces(3600 * 5, 2 * week + day + 7200, sizes: [3600, day, week])
        #expect(p.map { [$0.size, $0.from, $0.to] } == [[3600, 5, 24], [day, 1, 7], [week, 1, 2], [day, 14, 15], [3600, 360, 362]])
        var covered: Int64 = 0
        for x in p { covered += (x.to - x.from) * x.size }
        #expect(covered == 2 * week + day + 7200 - 3600 * 5)
        #expect(Rollup.pieces(900, 1800, sizes: [900, day]).map { [$0.size, $0.from, $0.to] } == [[900, 1, 2]])
    }

    @Test func countsFollowDeferralsAcrossImportsAndRetention() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        _ = try importText(importLog, into: ws)
        var db = try AppDatabase.open(workspace: ws)
        try Self.expectConsistent(db)
        let jan1 = Int64(1_577_836_800) // 2020-01-01
        var c = try db.statusCounts(from: jan1, to: jan1 + 86400)
        #expect(c == ["sent": 1, "bounced": 1, "deferred": 1, "expired": 0, "rejected": 1, "returned": 1])
        // The deferred recipient is delivered later, in another import: it moves from deferred to sent.
        _ = try importText("""
            Jan  1 11:02:02 m postfix/smtp[5]: 5555EEEE55: to=<c@y.example>, relay=mx.y.example[198.51.100.3]:25, delay=3602, delays=0/3600/0/2, dsn=2.0.0, status=sent (250 ok)
            Jan  1 11:02:02 m postfix/qmgr[3]: 5555EEEE55: removed
            Jan  2 09:00:00 m postfix/smtpd[1]: 7777AAAA77: client=app[10.0.0.5]
            Jan  2 09:00:00 m postfix/qmgr[3]: 7777AAAA77: from=<app@m.example>, size=100, nrcpt=1 (queue active)
            Jan  2 09:00:01 m postfix/smtp[4]: 7777AAAA77: to=<z@y.example>, relay=mx.y.example[198.51.100.3]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)
            Jan  2 09:00:01 m postfix/qmgr[3]: 7777AAAA77: removed

            """, into: ws)
        db = try AppDatabase.open(workspace: ws)
        try Self.expectConsistent(db)
        c = try db.statusCounts(from: jan1, to: jan1 + 86400)
        #expect(c == ["sent": 2, "bounced": 1, "deferred": 0, "expired": 0, "rejected": 1, "returned": 1])
        #expect(try db.statusCounts(from: jan1, to: jan1 + 2 * 86400)["sent"] == 3)
        let top = try db.topDomains(from: jan1, to: jan1 + 2 * 86400, status: nil)
        #expect(top.map(\.domain) == ["y.example", "x.example"] && top.map(\.count) == [2, 1])
        #expect(try db.topDomains(from: jan1, to: jan1 + 2 * 86400, status: "bounced").map(\.domain) == ["x.example"])
        #expect(try db.topDomains(from: jan1, to: jan1 + 2 * 86400, status: "deferred").isEmpty)
        // Retention takes the first day's messages and their counts away.
        try db.deleteOlderThan(jan1 + 86400)
        try Self.expectConsistent(db)
        #expect(try db.statusCounts(from: jan1, to: jan1 + 86400) == ["sent": 0, "bounced": 0, "deferred": 0, "expired": 0, "rejected": 0, "returned": 0])
        #expect(try db.statusCounts(from: jan1 + 86400, to: jan1 + 2 * 86400)["sent"] == 1)
    }

    /// A notification line in the batch after the one that stored both messages complete: the
    /// notification is filed under its original then, and its delivery leaves the counts.
    @Test func aNotificationLinkedInTheNextBatchLeavesTheCounts() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let log = ws + "/in.log"
        try """
            Jan  1 10:00:00 m postfix/qmgr[3]: 901D71583D: from=<bob@m.example>, size=100, nrcpt=1 (queue active)
            Jan  1 10:00:01 m postfix/smtp[4]: 901D71583D: to=<x@unreachable.example>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to unreachable.example[192.0.2.66]:25: Connection refused)
            Jan  6 10:00:01 m postfix/qmgr[3]: 901D71583D: from=<bob@m.example>, status=expired, returned to sender
            Jan  6 10:00:01 m postfix/cleanup[2]: 0260C15811: message-id=<20200106100001.0260C15811@m.example>
            Jan  6 10:00:01 m postfix/qmgr[3]: 0260C15811: from=<>, size=2465, nrcpt=1 (queue active)
            Jan  6 10:00:01 m postfix/qmgr[3]: 901D71583D: removed
            Jan  6 10:00:01 m postfix/local[6]: 0260C15811: to=<bob@m.example>, relay=local, delay=0.01, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)
            Jan  6 10:00:01 m postfix/qmgr[3]: 0260C15811: removed
            Jan  6 10:00:01 m postfix/bounce[7]: 901D71583D: sender non-delivery notification: 0260C15811

            """.write(toFile: log, atomically: true, encoding: .utf8)
        let db = try AppDatabase.open(workspace: ws + "/ws")
        let importer = try Importer(db: db, format: .default, startingYear: 2020, domains: DomainMapping())
        importer.batchLines = 8
        _ = try importer.importStream(path: log, source: "t")
        let rows = try exportLines(db)
        #expect(rows.count == 1)
        #expect(rows.first?.contains(" expired true 1 outbound ") == true)
        try Self.expectConsistent(db)
        let jan1 = Int64(1_577_836_800)
        #expect(try db.statusCounts(from: jan1, to: jan1 + 10 * 86400)["sent"] == 0)
    }

    @Test func generatedLogsCountTheSameWhateverTheBatches() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        guard let log = try GeneratorPath.generate(into: ws, ["--lines", "40000", "--seed", "5"]) else { return }
        let db = try AppDatabase.open(workspace: ws + "/ws")
        let importer = try Importer(db: db, format: .default, startingYear: 2026, domains: DomainMapping())
        importer.batchLines = 1500 // many batches: messages cross them, are saved live, then again
        _ = try importer.importStream(path: log, source: "gen")
        try Self.expectConsistent(db)
    }
}

extension RollupTests {
    /// What each interval holds, counted from the deliveries and rejections themselves.
    static func truth(_ db: AppDatabase, _ b: [Int64]) throws -> [[String: Int]] {
        var out = [[String: Int]](repeating: [:], count: b.count - 1)
        func slot(_ t: Int64) -> Int? {
            guard t >= b[0], t < b[b.count - 1] else { return nil }
            return b.lastIndex { $0 <= t }
        }
        try db.reader.read { db in
            for r in try Row.fetchAll(db, sql: """
                SELECT m.first_seen, d.direction, d.status, d.returned FROM deliveries d JOIN messages m ON m.id = d.message_id
                WHERE m.origin != 'notification'
                """) {
                guard let i = slot(r[0]) else { continue }
                out[i]["\(r[1] as String)/\(r[2] as String)", default: 0] += 1
                if r[3] as Bool { out[i]["\(r[1] as String)/returned", default: 0] += 1 }
            }
            for r in try Row.fetchAll(db, sql: "SELECT time FROM rejections") {
                if let i = slot(r[0]) { out[i]["inbound/rejected", default: 0] += 1 }
            }
        }
        return out
    }

    @Test func localDaysAddUpFromUTCDaysAndTheHoursAtTheirEdges() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        // Over the change to summer time in New York (8 March 2026): days of 23 hours.
        guard let log = try GeneratorPath.generate(into: ws, ["--lines", "40000", "--seed", "9", "--rate", "0.006", "--start", "2026-03-05T00:00:00"]) else { return }
        let db = try AppDatabase.open(workspace: ws + "/ws")
        let importer = try Importer(db: db, format: .default, startingYear: 2026, domains: DomainMapping())
        _ = try importer.importStream(path: log, source: "gen")
        let (first, last) = try db.reader.read { db in
            (try Int64.fetchOne(db, sql: "SELECT MIN(first_seen) FROM messages")!, try Int64.fetchOne(db, sql: "SELECT MAX(first_seen) FROM messages")!)
        }
        #expect(last - first > 4 * 86400)
        for zone in ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "Asia/Tokyo"] {
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = TimeZone(identifier: zone)!
            var t = cal.startOfDay(for: Date(timeIntervalSince1970: TimeInterval(first)))
            var b: [Int64] = []
            while Int64(t.timeIntervalSince1970) <= last + 86400 {
                b.append(Int64(t.timeIntervalSince1970))
                t = cal.date(byAdding: .day, value: 1, to: t)!
            }
            let got = try db.intervalCounts(boundaries: b)
            #expect(got == (try Self.truth(db, b)), "\(zone)")
            #expect(got.contains { !$0.isEmpty })
        }
        // Top domains over a period with hours at both edges (per-status rows there, `*` rows inside).
        let lo = (first / 3600 + 5) * 3600, hi = (last / 3600 - 3) * 3600
        for status in [nil, "sent", "bounced"] as [String?] {
            let truth = try db.reader.read { db in
                try Row.fetchAll(db, sql: """
                    SELECT d.domain, COUNT(*) FROM deliveries d JOIN messages m ON m.id = d.message_id
                    WHERE m.origin != 'notification' AND d.direction = 'outbound' AND m.first_seen >= ? AND m.first_seen < ?
                        AND (? IS NULL OR d.status = ?)
                    GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20
                    """, arguments: [lo, hi, status, status]).map { "\($0[0] as String)=\($0[1] as Int)" }
            }
            let got = try db.topDomains(from: lo, to: hi, status: status).map { "\($0.domain)=\($0.count)" }
            #expect(got == truth && !got.isEmpty, "\(status ?? "every status")")
            // The same from the candidates: every row a candidate (nothing left out, bound 0), then
            // the three largest of each interval (a bound that may or may not decide).
            defer { (Rollup.largeCount, Rollup.topPerInterval) = (100, 100) }
            for (large, per) in [(1, 100_000), (1, 3), (2, 10)] {
                (Rollup.largeCount, Rollup.topPerInterval) = (large, per)
                let viaCandidates = try db.topDomains(from: lo, to: hi, status: status).map { "\($0.domain)=\($0.count)" }
                #expect(viaCandidates == truth, "\(status ?? "every status") \(large) \(per)")
            }
        }
        // Any boundaries on quarter hours, near and far from midnight.
        var rng = SystemRandomNumberGenerator()
        var b = [first / 900 * 900 - 900]
        while b.last! < last + 900 { b.append(b.last! + Int64.random(in: 1...200, using: &rng) * 900) }
        #expect(try db.intervalCounts(boundaries: b) == (try Self.truth(db, b)))
    }
}

enum GeneratorPath {
    static var path: String? {
        var dir = #filePath
        for _ in 0..<3 { dir = String(dir[..<dir.lastIndex(of: "/")!]) }
        let p = String(dir[..<dir.lastIndex(of: "/")!]) + "/shared/tools/gen-postfix-log"
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    /// Writes a generated log into `dir` (gen.log) and returns its path; nil without the generator.
    static func generate(into dir: String, _ arguments: [String]) throws -> String? {
        guard let gen = path else { return nil }
        let log = dir + "/gen.log"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", gen] + arguments + ["--out", log]
        try p.run()
        p.waitUntilExit()
        return log
    }
}
