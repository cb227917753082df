import Foundation
import Ingest
import PostfixLog
import Testing
import Tracking

/// Parses the lines of `text` and gives them to `tracker`, as an import does.
func feed(_ text: String, to tracker: inout Tracker, years: inout YearTracker) {
    let parser = Parser()
    for line in text.split(separator: "\n") {
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBufferPointer { b in
            let buf = UnsafeBufferPointer(b)
            let r = parser.parse(buf)
            tracker.process(r, line: buf, time: years.unixSeconds(for: r.header.time))
        }
    }
}

func tempDir() -> String {
    let d = NSTemporaryDirectory() + "lightmeter-test-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

@discardableResult
func sh(_ cmd: String) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", cmd]
    try! p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

func readAll(_ path: String, chunkSize: Int = 1 << 20) throws -> ([String], ReadSummary) {
    var reader = LogFileReader(path: path)
    reader.chunkSize = chunkSize
    var lines: [String] = []
    let s = try reader.forEachLine { line, _ in lines.append(String(decoding: line, as: UTF8.self)) }
    return (lines, s)
}

let sampleLines = (0..<5000).map { i in
    "Jan  1 00:00:\(String(format: "%02d", i % 60)) mail postfix/qmgr[1]: \(String(format: "%010X", i)): from=<user\(i)@example.com>, size=\(i), nrcpt=1 (queue active)"
}

@Suite struct LineSplittingTests {
    @Test(arguments: [1, 2, 3, 7, 64, 1000, 1 << 16])
    func chunkSizesGiveTheSameLines(chunk: Int) throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "a\nbb\n\nccc\r\nlast-without-newline".write(toFile: dir + "/f", atomically: true, encoding: .utf8)
        let (lines, _) = try readAll(dir + "/f", chunkSize: chunk)
        #expect(lines == ["a", "bb", "", "ccc\r", "last-without-newline"])
    }

    @Test(arguments: [3, 8, 4096])
    func longLinesAreCutAndCounted(chunk: Int) throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ("short\n" + String(repeating: "x", count: 25) + "\nafter\n").write(toFile: dir + "/f", atomically: true, encoding: .utf8)
        var reader = LogFileReader(path: dir + "/f")
        reader.maxLineLength = 10
        reader.chunkSize = chunk
        var out: [(String, Bool)] = []
        let s = try reader.forEachLine { l, t in out.append((String(decoding: l, as: UTF8.self), t)) }
        #expect(out.map(\.0) == ["short", "xxxxxxxxxx", "after"])
        #expect(out.map(\.1) == [false, true, false])
        #expect(s.truncatedLines == 1)
    }
}

@Suite struct LogFileReaderTests {
    @Test(arguments: [("plain", ""), ("gzip", "gzip -k"), ("bzip2", "bzip2 -k")])
    func readsPlainGzipAndBzip2(name: String, compress: String) throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/mail.log"
        try (sampleLines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        var target = path
        if !compress.isEmpty {
            #expect(sh("\(compress) \(path)") == 0)
            target = path + (name == "gzip" ? ".gz" : ".bz2")
        }
        for chunk in [4096, 1 << 20] {
            let (lines, summary) = try readAll(target, chunkSize: chunk)
            #expect(lines == sampleLines)
            #expect(summary.compression.rawValue == (name == "plain" ? "none" : name))
            #expect(summary.damage == nil)
        }
    }

    @Test func multiMemberGzip() throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "one\ntwo\n".write(toFile: dir + "/a", atomically: true, encoding: .utf8)
        try "three\n".write(toFile: dir + "/b", atomically: true, encoding: .utf8)
        #expect(sh("cd \(dir) && gzip -c a > all.gz && gzip -c b >> all.gz") == 0)
        let (lines, summary) = try readAll(dir + "/all.gz")
        #expect(lines == ["one", "two", "three"])
        #expect(summary.damage == nil)
    }

    @Test(arguments: ["gzip", "bzip2"])
    func truncatedArchivesGiveTheLinesBeforeTheDamageAndSaySo(tool: String) throws {
        let dir = tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/mail.log"
        // Incompressible-ish content so that cutting the archive loses lines; bzip2 works in blocks of
        // 900 kB of input, so the file spans several.
        let lines = (0..<120_000).map { "line \($0) \(UInt64.random(in: 0...UInt64.max))" }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(sh("\(tool) \(path)") == 0)
        let archive = path + (tool == "gzip" ? ".gz" : ".bz2")
        let size = (try FileManager.default.attributesOfItem(atPath: archive)[.size] as! NSNumber).intValue
        #expect(sh("truncate -s \(size / 2) \(archive)") == 0)
        let (got, summary) = try readAll(archive)
        #expect(summary.damage != nil)
        try #require(got.count > 1000 && got.count < lines.count)
        // Every complete line delivered is a line of the original, in order.
        #expect(Array(lines.prefix(got.count - 1)) == Array(got.prefix(got.count - 1)))
    }

    @Test func unreadableFileIsAnError() {
        #expect(throws: LogFileError.self) { try readAll("/nonexistent/mail.log") }
    }
}

@Suite struct LogstashTests {
    @Test func messageAndTimestamp() {
        let json = #"{"@timestamp":"2021-05-16T00:01:42.278Z","log":{"file":{"path":"/var/log/mail.log"}},"message":"Jun  3 10:40:57 mail postfix/qmgr[1]: 4AA091855DA0: from=<a\"b@c>, size=1, nrcpt=1 (queue active)","host":{"name":"x"}}"#
        let line = Array(json.utf8).withUnsafeBufferPointer { Logstash.line(from: $0) }
        #expect(line.map { String(decoding: $0, as: UTF8.self) } == "Jun  3 10:40:57 mail postfix/qmgr[1]: 4AA091855DA0: from=<a\"b@c>, size=1, nrcpt=1 (queue active)")
        let bare = #"{"message":"mail postfix/qmgr[1]: 4AA091855DA0: removed","@timestamp":"2021-05-16T00:01:42.278Z"}"#
        let l2 = Array(bare.utf8).withUnsafeBufferPointer { Logstash.line(from: $0) }
        #expect(l2.map { String(decoding: $0, as: UTF8.self) } == "2021-05-16T00:01:42.278Z mail postfix/qmgr[1]: 4AA091855DA0: removed")
        let path = Array(json.utf8).withUnsafeBufferPointer { Logstash.stringField("path", in: $0) }
        #expect(path.map { String(decoding: $0, as: UTF8.self) } == "/var/log/mail.log")
        let unicode = #"{"message":"caf\u00e9 \ud83d\ude00"}"#
        let u = Array(unicode.utf8).withUnsafeBufferPointer { Logstash.stringField("message", in: $0) }
        #expect(u.map { String(decoding: $0, as: UTF8.self) } == "café 😀")
    }
}
