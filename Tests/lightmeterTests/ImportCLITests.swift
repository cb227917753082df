import Foundation
import Testing

/// The generator of realistic logs beside the checkout, when it is there.
enum Generator {
    static var path: String? {
        let p = CLI.root + "/../shared/tools/gen-postfix-log"
        return FileManager.default.fileExists(atPath: p) ? p : nil
    }

    /// Writes `lines` lines (and the truth) into `dir`; returns the log's path.
    static func generate(lines: Int, seed: Int, into dir: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", path!, "--lines", String(lines), "--seed", String(seed), "--start", "2026-01-01T00:00:00",
                       "--out", dir + "/mail.log", "--truth", dir + "/truth.jsonl"]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        return dir + "/mail.log"
    }
}

/// Runs lightmeter with `args` and kills it (-9) at a random moment within `seconds` (the time a whole
/// run takes), again and again, until a run gets to its end (at most 12 runs). Returns how many runs
/// were killed.
func killRepeatedly(_ args: [String], stdin input: Data?, within seconds: Double) throws -> Int {
    signal(SIGPIPE, SIG_IGN)
    var rng = SystemRandomNumberGenerator()
    var kills = 0
    for _ in 0..<12 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = args
        let inp = Pipe()
        p.standardInput = inp
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let writer = Thread {
            if let input { try? inp.fileHandleForWriting.write(contentsOf: input) }
            try? inp.fileHandleForWriting.close()
        }
        writer.start()
        // Anywhere in the time a whole import takes (machines differ: a fixed range of times was
        // longer than the whole import on a faster one, which was then never killed).
        Thread.sleep(forTimeInterval: Double.random(in: 0.05...0.9, using: &rng) * seconds)
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            kills += 1
        }
        p.waitUntilExit()
        while !writer.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        if p.terminationReason == .exit && p.terminationStatus == 0 { break }
    }
    return kills
}

/// The port of `lightmeter: listening on HOST:PORT` on a server's standard error.
func listeningPort(_ err: Pipe) throws -> Int {
    var text = ""
    let h = err.fileHandleForReading
    while true {
        let d = h.availableData
        if d.isEmpty { throw CLIError("the server ended before listening: \(text)") }
        text += String(decoding: d, as: UTF8.self)
        for line in text.split(separator: "\n") where line.hasPrefix("lightmeter: listening on ") {
            if let p = line.split(separator: ":").last.flatMap({ Int($0) }) { return p }
        }
    }
}

struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ s: String) { description = s }
}

/// A plain HTTP GET over a socket on loopback (no proxy), the whole response as text.
func httpGet(port: Int, path: String, headers: [String: String] = [:]) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard rc == 0 else { throw CLIError("cannot connect to port \(port)") }
    let extra = headers.map { "\($0.key): \($0.value)\r\n" }.joined()
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(extra)Connection: close\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = recv(fd, &buf, buf.count, 0)
        if n <= 0 { break }
        out += buf[0..<n]
    }
    return String(decoding: out, as: UTF8.self)
}

func exportSorted(_ ws: String) throws -> [String] {
    let r = try CLI.run(["export", "-workspace", ws])
    #expect(r.status == 0, "\(r.err)")
    return r.out.split(separator: "\n").map(String.init).sorted()
}

@Suite(.enabled(if: Generator.path != nil, "../shared/tools/gen-postfix-log is not there"), .serialized)
struct ImportCLITests {
    @Test func exportMatchesTheGeneratorsTruth() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try Generator.generate(lines: 60_000, seed: 3, into: dir)
        let r = try CLI.run(["-workspace", dir + "/ws", "-stdin", "-importonly", "-log_starting_year", "2026"],
                            stdin: try Data(contentsOf: URL(fileURLWithPath: log)))
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("imported 60000 lines"))
        let export = try CLI.run(["export", "-workspace", dir + "/ws"])
        try export.out.write(toFile: dir + "/export.jsonl", atomically: true, encoding: .utf8)
        let cmp = Process()
        cmp.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        cmp.arguments = ["python3", CLI.root + "/scripts/compare-truth", dir + "/export.jsonl", dir + "/truth.jsonl", "--min", "0.999"]
        let out = Pipe()
        cmp.standardOutput = out
        try cmp.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        cmp.waitUntilExit()
        #expect(cmp.terminationStatus == 0, "\(text)")
    }

    @Test func killedImportsResumeToTheSameExport() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try Generator.generate(lines: 40_000, seed: 5, into: dir)
        let input = try Data(contentsOf: URL(fileURLWithPath: log))
        let args = ["-stdin", "-importonly", "-log_starting_year", "2026"]
        let started = Date()
        #expect(try CLI.run(["-workspace", dir + "/reference"] + args, stdin: input).status == 0)
        let whole = Date().timeIntervalSince(started)
        let expected = try exportSorted(dir + "/reference")
        #expect(expected.count > 3000)

        let kills = try killRepeatedly(["-workspace", dir + "/ws"] + args, stdin: input, within: whole)
        // A last run reads everything again and must skip what is stored.
        #expect(try CLI.run(["-workspace", dir + "/ws"] + args, stdin: input).status == 0)
        #expect(kills > 0)
        #expect(try exportSorted(dir + "/ws") == expected)
    }

    @Test func killedDirectoryImportsResumeToTheSameExport() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = try Generator.generate(lines: 40_000, seed: 9, into: dir)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let logs = dir + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        // Rotated files: mail.log.3.gz, mail.log.2.bz2, mail.log.1, mail.log.
        let q = lines.count / 4
        let parts = [(logs + "/mail.log.3", "gzip"), (logs + "/mail.log.2", "bzip2"), (logs + "/mail.log.1", ""), (logs + "/mail.log", "")]
        for (i, (path, tool)) in parts.enumerated() {
            let end = i == 3 ? lines.count : (i + 1) * q
            try (lines[(i * q)..<end].joined(separator: "\n") + (i == 3 ? "" : "\n")).write(toFile: path, atomically: true, encoding: .utf8)
            if !tool.isEmpty {
                let z = Process()
                z.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                z.arguments = [tool, path]
                try z.run()
                z.waitUntilExit()
            }
        }
        let args = ["-watch_dir", logs, "-importonly"]
        let started = Date()
        #expect(try CLI.run(["-workspace", dir + "/reference"] + args).status == 0)
        let whole = Date().timeIntervalSince(started)
        let expected = try exportSorted(dir + "/reference")
        #expect(expected.count > 3000)
        let kills = try killRepeatedly(["-workspace", dir + "/ws"] + args, stdin: nil, within: whole)
        #expect(try CLI.run(["-workspace", dir + "/ws"] + args).status == 0)
        #expect(kills > 0)
        #expect(try exportSorted(dir + "/ws") == expected)
    }
}

@Suite struct WatchDirCLITests {
    static func lines(_ range: Range<Int>) -> String {
        range.map { i in
            let q = String(format: "%010X", 0xB0000 + i)
            let s = i * 10
            let t = String(format: "Jan  1 %02d:%02d:%02d", s / 3600 % 24, s / 60 % 60, s % 60)
            return "\(t) mx postfix/pickup[10]: \(q): uid=0 from=<u\(i)>\n\(t) mx postfix/qmgr[12]: \(q): from=<u\(i)@mx.example>, size=1, nrcpt=1 (queue active)\n\(t) mx postfix/local[13]: \(q): to=<r\(i)@mx.example>, relay=local, delay=0, delays=0/0/0/0, dsn=2.0.0, status=sent (delivered to mailbox)\n\(t) mx postfix/qmgr[12]: \(q): removed\n"
        }.joined()
    }

    @Test func importOnlyFromTheEnvironmentAndAClearWordWhenNoLiveFile() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/logs", withIntermediateDirectories: true)
        try Self.lines(0..<10).write(toFile: dir + "/logs/mail.log.1", atomically: true, encoding: .utf8)
        let r = try CLI.run(["-workspace", dir + "/ws", "-importonly", "-log_starting_year", "2021"],
                            env: ["LIGHTMETER_WATCH_DIR": dir + "/logs"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("no live log file") && r.err.contains("mail.log.1"))
        #expect(try exportSorted(dir + "/ws").count == 10)
        let none = try CLI.run(["-workspace", dir + "/ws2", "-importonly", "-watch_dir", dir, "-log_file_patterns", "maillog"])
        #expect(none.err.contains("no log file matching maillog"))
    }

    @Test func followsTheLiveFileThroughARotationAndStopsOnSIGTERM() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let logs = dir + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        try Self.lines(0..<20).write(toFile: logs + "/mail.log", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["-workspace", dir + "/ws", "-watch_dir", logs, "-log_starting_year", "2021", "-listen", "127.0.0.1:0"]
        p.standardOutput = FileHandle.nullDevice
        let err = Pipe()
        p.standardError = err
        try p.run()
        // The web server runs beside ingestion: /healthz says ingestion is alive.
        let port = try listeningPort(err)
        let health = try httpGet(port: port, path: "/healthz")
        #expect(health.hasPrefix("HTTP/1.1 200") || health.hasPrefix("HTTP/1.1 503"))
        func waitFor(_ n: Int) throws -> Bool {
            for _ in 0..<60 {
                if FileManager.default.fileExists(atPath: dir + "/ws/lightmeter.db"), try exportSorted(dir + "/ws").count >= n { return true }
                Thread.sleep(forTimeInterval: 0.25)
            }
            return false
        }
        #expect(try waitFor(20))
        // New lines, then a rename-and-create rotation with more lines in the new file.
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: logs + "/mail.log"))
        try h.seekToEnd()
        try h.write(contentsOf: Data(Self.lines(20..<30).utf8))
        try h.close()
        #expect(try waitFor(30))
        try FileManager.default.moveItem(atPath: logs + "/mail.log", toPath: logs + "/mail.log.1")
        try Self.lines(30..<45).write(toFile: logs + "/mail.log", atomically: true, encoding: .utf8)
        #expect(try waitFor(45))
        // copytruncate: the live file is copied to mail.log.1 and emptied, then written again.
        try FileManager.default.removeItem(atPath: logs + "/mail.log.1")
        try FileManager.default.copyItem(atPath: logs + "/mail.log", toPath: logs + "/mail.log.1")
        let t = try FileHandle(forWritingTo: URL(fileURLWithPath: logs + "/mail.log"))
        try t.truncate(atOffset: 0)
        try t.write(contentsOf: Data(Self.lines(45..<60).utf8))
        try t.close()
        #expect(try waitFor(60))
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(p.terminationReason == .exit && p.terminationStatus == 0)
        let rows = try exportSorted(dir + "/ws")
        #expect(rows.count == 60)
        #expect(Set(rows).count == 60)
    }

    @Test func losesNothingWhenAWriterKeepsWritingThroughRotations() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let logs = dir + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        let live = logs + "/mail.log"
        FileManager.default.createFile(atPath: live, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = ["-workspace", dir + "/ws", "-watch_dir", logs, "-listen", "127.0.0.1:0"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        // A writer like syslog: appends message after message; logrotate renames the file twice (the
        // writer goes on writing to the renamed file for a moment, then reopens).
        var handle = try FileHandle(forWritingTo: URL(fileURLWithPath: live))
        for i in 0..<120 {
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(Self.lines(i..<(i + 1)).utf8))
            if i == 40 || i == 80 {
                let n = i == 40 ? 1 : 2
                try FileManager.default.moveItem(atPath: live, toPath: logs + "/mail.log.tmp\(n)")
                try handle.write(contentsOf: Data(Self.lines((1000 + i)..<(1001 + i)).utf8))  // late line to the old file
                try handle.close()
                try FileManager.default.moveItem(atPath: logs + "/mail.log.tmp\(n)", toPath: logs + "/mail.log.\(n)")
                FileManager.default.createFile(atPath: live, contents: nil)
                handle = try FileHandle(forWritingTo: URL(fileURLWithPath: live))
            }
            if i % 10 == 0 { Thread.sleep(forTimeInterval: 0.1) }
        }
        try handle.close()
        var rows: [String] = []
        for _ in 0..<60 {
            Thread.sleep(forTimeInterval: 0.25)
            if FileManager.default.fileExists(atPath: dir + "/ws/lightmeter.db") {
                rows = try exportSorted(dir + "/ws")
                if rows.count >= 122 { break }
            }
        }
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        #expect(rows.count == 122)
        #expect(Set(rows).count == 122)
    }
}
