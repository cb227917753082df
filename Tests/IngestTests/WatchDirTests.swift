import Foundation
import Ingest
import Store
import Testing
import Tracking

/// `count` messages, one a second from Jan 1 00:00:00: pickup, queue, a delivery (every 7th bounces), removal.
func syntheticLog(_ range: Range<Int>) -> [String] {
    var lines: [String] = []
    for i in range {
        let t = i * 10
        func stamp(_ dt: Int) -> String {
            let s = t + dt
            let day = 1 + s / 86400
            return String(format: "Jan %2d %02d:%02d:%02d", day, s / 3600 % 24, s / 60 % 60, s % 60)
        }
        let q = String(format: "%010X", 0xA0000 + i)
        lines.append("\(stamp(0)) mx postfix/pickup[10]: \(q): uid=0 from=<u\(i)>")
        lines.append("\(stamp(0)) mx postfix/cleanup[11]: \(q): message-id=<m\(i)@mx.example>")
        lines.append("\(stamp(1)) mx postfix/qmgr[12]: \(q): from=<u\(i)@mx.example>, size=\(100 + i), nrcpt=1 (queue active)")
        if i % 7 == 0 {
            lines.append("\(stamp(2)) mx postfix/smtp[13]: \(q): to=<r\(i)@far.example>, relay=mx.far.example[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx.far.example[192.0.2.9] said: 550 5.1.1 no such user (in reply to RCPT TO command))")
            lines.append("\(stamp(2)) mx postfix/smtp[13]: warning: TLS library problem: \(i)")
        } else {
            lines.append("\(stamp(2)) mx postfix/smtp[13]: \(q): to=<r\(i)@far.example>, relay=mx.far.example[192.0.2.9]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 ok)")
        }
        lines.append("\(stamp(3)) mx postfix/qmgr[12]: \(q): removed")
    }
    return lines
}

func write(_ lines: [String], _ path: String) throws {
    try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
}

func append(_ lines: [String], _ path: String) throws {
    let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    try h.seekToEnd()
    try h.write(contentsOf: Data((lines.joined(separator: "\n") + "\n").utf8))
    try h.close()
}

func setModified(_ path: String, year: Int = 2021, month: Int = 1, day: Int = 20) throws {
    var c = DateComponents()
    c.year = year; c.month = month; c.day = day
    c.timeZone = TimeZone(identifier: "UTC")
    try FileManager.default.setAttributes([.modificationDate: Calendar(identifier: .gregorian).date(from: c)!], ofItemAtPath: path)
}

/// `setModified` for every file of `dir`.
func setModifiedAll(_ dir: String) throws {
    for f in try FileManager.default.contentsOfDirectory(atPath: dir) { try setModified(dir + "/" + f) }
}

func importDir(_ dir: String, into ws: String) throws -> ImportSummary {
    let db = try AppDatabase.open(workspace: ws)
    let importer = try Importer(db: db, format: .default, startingYear: 2021, domains: DomainMapping())
    return try importer.importDirectories([dir], patterns: DirectoryScanner.defaultPatterns)
}

/// The export of the same lines read from standard input.
func referenceExport(_ lines: [String]) throws -> [String] {
    let ws = tempDir()
    defer { try? FileManager.default.removeItem(atPath: ws) }
    _ = try importText(lines.joined(separator: "\n") + "\n", into: ws, year: 2021)
    return try exportLines(try AppDatabase.open(workspace: ws))
}

@Suite struct WatchDirTests {
    @Test func rotationNamesAreRecognised() {
        let r = DirectoryScanner.rotation
        #expect(r("mail.log", "mail.log") == .live)
        #expect(r("mail.log.1", "mail.log") == .numbered(1))
        #expect(r("mail.log.12.gz", "mail.log") == .numbered(12))
        #expect(r("mail.log.2.bz2", "mail.log") == .numbered(2))
        #expect(r("mail.log-20230102", "mail.log") == .dated("20230102"))
        #expect(r("mail.log-20230102.gz", "mail.log") == .dated("20230102"))
        #expect(r("mail.logger", "mail.log") == nil)
        #expect(r("mail.log.old", "mail.log") == nil)
        #expect(r("maillog", "mail.log") == nil)
    }

    @Test func mixedRotatedDirectoryImportsOldestFirstLikeOneStream() throws {
        let dir = tempDir(), ws = tempDir()
        defer { for d in [dir, ws] { try? FileManager.default.removeItem(atPath: d) } }
        let all = syntheticLog(0..<400)
        let chunk = all.count / 5
        // Oldest to newest: numbered gzip, numbered bzip2, dated gzip, plain numbered, live.
        try write(Array(all[0..<chunk]), dir + "/mail.log.4"); #expect(sh("gzip \(dir)/mail.log.4") == 0)
        try write(Array(all[chunk..<(2 * chunk)]), dir + "/mail.log.3"); #expect(sh("bzip2 \(dir)/mail.log.3") == 0)
        try write(Array(all[(2 * chunk)..<(3 * chunk)]), dir + "/mail.log-20210102"); #expect(sh("gzip \(dir)/mail.log-20210102") == 0)
        try write(Array(all[(3 * chunk)..<(4 * chunk)]), dir + "/mail.log.1")
        try write(Array(all[(4 * chunk)...]), dir + "/mail.log")
        // Debian's rsyslog also writes the warnings to mail.warn.
        try write(all.filter { $0.contains("warning:") }, dir + "/mail.warn")
        try setModifiedAll(dir)
        let s = try importDir(dir, into: ws)
        #expect(s.duplicates == Int64(all.filter { $0.contains("warning:") }.count))
        #expect(s.damage.isEmpty)
        let got = try exportLines(try AppDatabase.open(workspace: ws))
        #expect(got == (try referenceExport(all)))
        #expect(got.count == 400)
        // Again: nothing new.
        let again = try importDir(dir, into: ws)
        #expect(again.lines == 0)
        #expect(try exportLines(try AppDatabase.open(workspace: ws)) == got)
    }

    @Test func renameAndCreateRotationAndCopytruncateLoseNothing() throws {
        let dir = tempDir(), ws = tempDir()
        defer { for d in [dir, ws] { try? FileManager.default.removeItem(atPath: d) } }
        let all = syntheticLog(0..<300)
        let live = dir + "/mail.log"
        try write(Array(all[0..<500]), live)
        try setModified(live)
        _ = try importDir(dir, into: ws)
        // More lines, then a rename-and-create rotation, then lines in the new file.
        try append(Array(all[500..<700]), live)
        #expect(sh("mv \(live) \(dir)/mail.log.1") == 0)
        try write(Array(all[700..<1000]), live)
        for f in ["mail.log", "mail.log.1"] { try setModified(dir + "/" + f) }
        _ = try importDir(dir, into: ws)
        // The rotated file is compressed; then copytruncate: the live file is copied and emptied.
        #expect(sh("gzip \(dir)/mail.log.1 && mv \(dir)/mail.log.1.gz \(dir)/mail.log.2.gz") == 0)
        try append(Array(all[1000..<1300]), live)
        #expect(sh("cp \(live) \(dir)/mail.log.1 && truncate -s 0 \(live)") == 0)
        try write(Array(all[1300...]), live)
        try setModifiedAll(dir)
        _ = try importDir(dir, into: ws)
        #expect(try exportLines(try AppDatabase.open(workspace: ws)) == (try referenceExport(all)))
    }

    /// Following a directory, the files can rotate between the look at the directory and the reading
    /// of its files: the name read is then another file than the one the look saw (and checkpointed).
    @Test func aRotationBetweenTheScanAndTheReadingLosesAndRepeatsNothing() throws {
        let dir = tempDir(), ws = tempDir()
        defer { for d in [dir, ws] { try? FileManager.default.removeItem(atPath: d) } }
        let all = syntheticLog(0..<200)
        let live = dir + "/mail.log"
        try write(Array(all[0..<400]), live)
        let db = try AppDatabase.open(workspace: ws)
        let importer = try Importer(db: db, format: .default, startingYear: 2021, domains: DomainMapping())
        try setModifiedAll(dir)
        _ = try importer.importDirectories([dir], patterns: ["mail.log"])
        // Rename and create, after the look: the new, shorter file under the name the look saw.
        try append(Array(all[400..<500]), live)
        try setModifiedAll(dir)
        var stale = try importer.scanDirectories([dir], patterns: ["mail.log"])
        #expect(sh("mv \(live) \(dir)/mail.log.1") == 0)
        try write(Array(all[500..<520]), live)
        try setModifiedAll(dir)
        _ = try importer.importScanned(stale)
        _ = try importer.importDirectories([dir], patterns: ["mail.log"])
        // copytruncate after the look: the same file (inode) with other lines.
        try append(Array(all[520..<600]), live)
        try setModifiedAll(dir)
        stale = try importer.scanDirectories([dir], patterns: ["mail.log"])
        #expect(sh("rm \(dir)/mail.log.1 && cp \(live) \(dir)/mail.log.1 && truncate -s 0 \(live)") == 0)
        try append(Array(all[600..<700]), live)
        try setModifiedAll(dir)
        _ = try importer.importScanned(stale)
        // Half a line: not a file's identity yet.
        #expect(sh("mv \(live) \(dir)/mail.log.2 && printf '%s' '\(all[700].prefix(20))' > \(live)") == 0)
        try setModifiedAll(dir)
        stale = try importer.scanDirectories([dir], patterns: ["mail.log"])
        try write([String(all[700].dropFirst(20))] + Array(all[701...]), dir + "/rest")
        #expect(sh("cat \(dir)/rest >> \(live) && rm \(dir)/rest") == 0)
        try setModifiedAll(dir)
        _ = try importer.importScanned(stale)
        _ = try importer.importDirectories([dir], patterns: ["mail.log"])
        let got = try exportLines(try AppDatabase.open(workspace: ws)), want = try referenceExport(all)
        #expect(got.count == want.count)
        #expect(got == want)
    }

    @Test func aDamagedArchiveIsReportedAndTheRestImported() throws {
        let dir = tempDir(), ws = tempDir()
        defer { for d in [dir, ws] { try? FileManager.default.removeItem(atPath: d) } }
        let all = syntheticLog(0..<200)
        try write(Array(all[0..<600]), dir + "/mail.log.1")
        #expect(sh("gzip \(dir)/mail.log.1 && head -c 3000 \(dir)/mail.log.1.gz > \(dir)/x && mv \(dir)/x \(dir)/mail.log.1.gz") == 0)
        try write(Array(all[600...]), dir + "/mail.log")
        try setModifiedAll(dir)
        let s = try importDir(dir, into: ws)
        #expect(s.damage.count == 1 && s.damage[0].contains("mail.log.1.gz"))
        let rows = try exportLines(try AppDatabase.open(workspace: ws))
        // Every message of the live file is there.
        #expect(rows.filter { $0.contains("m19") }.count >= 1)
        #expect(rows.count > 200 - 120)
    }
}

@Suite struct SourceEdgeTests {
    @Test func rsyncStyleReplacementReadsOnlyTheNewTail() throws {
        let dir = tempDir(), ws = tempDir()
        defer { for d in [dir, ws] { try? FileManager.default.removeItem(atPath: d) } }
        let all = syntheticLog(0..<100)
        try write(Array(all[0..<300]), dir + "/mail.log")
        try setModified(dir + "/mail.log")
        _ = try importDir(dir, into: ws)
        // rsync writes the whole file again under a temporary name, then renames it over the old one.
        try write(all, dir + "/.mail.log.Xy12Ab")
        #expect(sh("mv \(dir)/.mail.log.Xy12Ab \(dir)/mail.log") == 0)
        try setModified(dir + "/mail.log")
        let s = try importDir(dir, into: ws)
        #expect(s.lines == Int64(all.count - 300))
        #expect(try exportLines(try AppDatabase.open(workspace: ws)) == (try referenceExport(all)))
    }

    @Test func badInputIsCountedAndKeptNeverACrash() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        var data = Data((syntheticLog(0..<5).joined(separator: "\n") + "\n").utf8)
        data.append(Data((0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }))  // binary garbage
        data.append(Data("\n".utf8))
        data.append(Data(("Jan  1 10:00:00 mx postfix/smtpd[1]: " + String(repeating: "x", count: 100_000) + "\n").utf8))
        data.append(Data([0x4A, 0x61, 0x6E, 0x20, 0xFF, 0xFE, 0x0A]))  // invalid UTF-8
        data.append(Data((syntheticLog(5..<10).joined(separator: "\n") + "\n").utf8))
        let path = ws + "/bad.log"
        try data.write(to: URL(fileURLWithPath: path))
        let db = try AppDatabase.open(workspace: ws)
        let importer = try Importer(db: db, format: .default, startingYear: 2021, domains: DomainMapping())
        let s = try importer.importStream(path: path, source: "bad")
        #expect(s.truncatedLines == 1)
        #expect(s.unsupported >= 3)
        #expect(try exportLines(db).count == 10)
    }

    @Test func logstashJSONLines() throws {
        let ws = tempDir()
        defer { try? FileManager.default.removeItem(atPath: ws) }
        let json = syntheticLog(0..<10).map { line -> String in
            let message = line.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "{\"@timestamp\":\"2021-01-01T00:00:00.000Z\",\"log\":{\"file\":{\"path\":\"/var/log/mail.log\"}},\"message\":\"\(message)\"}"
        }
        let path = ws + "/logstash.json"
        try (json.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        let db = try AppDatabase.open(workspace: ws)
        let importer = try Importer(db: db, format: .logstash, startingYear: 2021, domains: DomainMapping())
        let s = try importer.importStream(path: path, source: "logstash")
        #expect(s.postfixUnsupported == 0 && s.unsupported == 0)
        #expect(try exportLines(db) == (try referenceExport(syntheticLog(0..<10))))
    }
}
