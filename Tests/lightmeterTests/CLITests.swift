import Foundation
import Testing

/// Runs the built `lightmeter` binary.
struct CLI {
    static var root: String {
        var dir = #filePath
        for _ in 0..<3 { dir = String(dir[..<dir.lastIndex(of: "/")!]) }
        return dir
    }

    static var binary: String { root + "/.build/debug/lightmeter" }

    struct Result {
        var status: Int32
        var out: String
        var err: String
    }

    @discardableResult
    static func run(_ args: [String], env: [String: String] = [:], stdin: Data? = nil) throws -> Result {
        // A child that exits before reading all its input must not kill the tests with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        // English messages, whatever the machine's locale, unless a test asks for another.
        var e = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LIGHTMETER_") && !$0.key.hasPrefix("LC_") }
        e["LANG"] = "C.UTF-8"
        for (k, v) in env { e[k] = v }
        p.environment = e
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        // Feed the input while reading the outputs, so that neither side blocks the other.
        let feeder = Thread {
            if let stdin { try? inp.fileHandleForWriting.write(contentsOf: stdin) }
            try? inp.fileHandleForWriting.close()
        }
        feeder.start()
        let box = DataBox()
        let errReader = Thread { box.data = err.fileHandleForReading.readDataToEndOfFile() }
        errReader.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        while feeder.isExecuting || !errReader.isFinished { Thread.sleep(forTimeInterval: 0.005) }
        let r = box.data
        p.waitUntilExit()
        return Result(status: p.terminationStatus, out: String(decoding: o, as: UTF8.self), err: String(decoding: r, as: UTF8.self))
    }
}

final class DataBox: @unchecked Sendable {
    var data = Data()
}

func temporaryDirectory() -> String {
    let d = NSTemporaryDirectory() + "lightmeter-cli-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
}

@Suite struct HelpAndVersionTests {
    @Test(arguments: ["-help", "--help", "-h"])
    func helpListsTheOptions(flag: String) throws {
        let r = try CLI.run([flag])
        #expect(r.status == 0)
        #expect(r.out.contains("parse-stats"))
        #expect(r.out.contains("LIGHTMETER_"))
    }

    @Test(arguments: ["-version", "--version"])
    func version(flag: String) throws {
        let r = try CLI.run([flag])
        #expect(r.status == 0)
        #expect(r.out.contains("0.1.0"))
    }
}

@Suite struct ParseStatsCLITests {
    static let lines = """
        Jun  3 10:40:57 mail postfix/qmgr[1005]: 4AA091855DA0: from=<user@sender.com>, size=391, nrcpt=1 (queue active)
        Jun  3 10:40:57 mail postfix/qmgr[1005]: 4AA091855DA0: removed
        Jun  3 10:40:57 mail postfix/smtpd[1]: something postfix has never written
        Jun  3 10:40:57 mail dovecot: imap-login: Disconnected (auth failed, 1 attempts in 6 secs): user=<a>, method=PLAIN, rip=1.1.1.1, lip=2.2.2.2
        not a log line

        """

    @Test func jsonSummaryFromAGzipFileAndStdin() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.lines.write(toFile: dir + "/mail.log", atomically: true, encoding: .utf8)
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gz.arguments = ["-k", dir + "/mail.log"]
        try gz.run()
        gz.waitUntilExit()
        for args in [["parse-stats", "--json", dir + "/mail.log.gz"], ["parse-stats", "-json", "-"]] {
            let r = try CLI.run(args, stdin: Data(Self.lines.utf8))
            #expect(r.status == 0, "\(r.err)")
            let obj = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
            #expect(obj["lines"] as? Int == 5)
            #expect(obj["unsupported"] as? Int == 2)
            #expect(obj["postfix_lines"] as? Int == 3)
            #expect(obj["postfix_unsupported"] as? Int == 1)
            let byProcess = obj["by_process"] as! [String: Int]
            #expect(byProcess["qmgr"] == 2 && byProcess["dovecot"] == 1)
            let byKind = obj["by_kind"] as! [String: Int]
            #expect(byKind["qmgr.queue-active"] == 1 && byKind["dovecot.auth-failure"] == 1)
            let shapes = obj["unsupported_shapes"] as! [[String: Any]]
            #expect(shapes.contains { ($0["examples"] as! [String]).contains("not a log line") })
        }
    }

    @Test func textSummaryAndErrors() throws {
        let r = try CLI.run(["parse-stats", "-"], stdin: Data(Self.lines.utf8))
        #expect(r.status == 0)
        #expect(r.out.contains("postfix unsupported:  1 (33.33%)"))
        #expect(r.out.contains("something postfix has never written"))
        let missing = try CLI.run(["parse-stats", "/nonexistent/file"])
        #expect(missing.status != 0)
        #expect(missing.err.contains("/nonexistent/file"))
        let badFormat = try CLI.run(["parse-stats", "-log_format", "xml", "-"])
        #expect(badFormat.status != 0)
        #expect(badFormat.err.contains("unknown log format"))
    }

    @Test func logstashFormatFromTheEnvironment() throws {
        let json = #"{"@timestamp":"2021-05-16T00:01:42.278Z","message":"mail postfix/qmgr[1]: 4AA091855DA0: removed"}"# + "\n"
        let r = try CLI.run(["parse-stats", "--json", "-"], env: ["LIGHTMETER_LOG_FORMAT": "logstash"], stdin: Data(json.utf8))
        let obj = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        #expect((obj["by_kind"] as! [String: Int])["qmgr.removed"] == 1)
    }
}

/// `lightmeter` serving on loopback (`-listen 127.0.0.1:0`): the process, its standard input (left
/// open), and the port it listens on.
struct RunningServer {
    let process: Process
    let input: Pipe
    let port: Int

    static func start(_ args: [String]) throws -> RunningServer {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = args + ["-listen", "127.0.0.1:0"]
        p.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LIGHTMETER_") }
        let err = Pipe(), inp = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        p.standardInput = inp
        try p.run()
        return RunningServer(process: p, input: inp, port: try listeningPort(err))
    }

    /// SIGTERM, then the exit status.
    @discardableResult
    func stop() -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

@Suite struct CLILanguageTests {
    /// The command line speaks the language of LANG (or LC_ALL, LC_MESSAGES); C and unset mean English.
    @Test func messagesFollowLANG() throws {
        var r = try CLI.run(["-workspace", temporaryDirectory() + "/ws"], env: ["LANG": "de_DE.UTF-8"])
        #expect(r.status != 0)
        #expect(r.err.contains("keine Logquelle"), "\(r.err)")
        r = try CLI.run(["-workspace", temporaryDirectory() + "/ws"], env: ["LANG": "C.UTF-8"])
        #expect(r.err.contains("no log source"))
        r = try CLI.run(["search", "-workspace", "/nonexistent/ws"], env: ["LC_ALL": "pt_BR.UTF-8"])
        #expect(r.err.contains("não há banco de dados no espaço de trabalho /nonexistent/ws"), "\(r.err)")
    }
}
