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
        #expect(try CLI.run(["-workspace", dir + "/reference"] + args, stdin: input).status == 0)
        let expected = try exportSorted(dir + "/reference")
        #expect(expected.count > 3000)

        signal(SIGPIPE, SIG_IGN)
        // Kill -9 at random moments until one run gets to the end.
        var rng = SystemRandomNumberGenerator()
        var kills = 0
        for _ in 0..<12 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: CLI.binary)
            p.arguments = ["-workspace", dir + "/ws"] + args
            let inp = Pipe()
            p.standardInput = inp
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            let writer = Thread { try? inp.fileHandleForWriting.write(contentsOf: input); try? inp.fileHandleForWriting.close() }
            writer.start()
            let delay = Double.random(in: 0.05...0.6, using: &rng)
            Thread.sleep(forTimeInterval: delay)
            if p.isRunning {
                kill(p.processIdentifier, SIGKILL)
                kills += 1
            }
            p.waitUntilExit()
            while writer.isExecuting { Thread.sleep(forTimeInterval: 0.01) }
            if p.terminationReason == .exit && p.terminationStatus == 0 { break }
        }
        // A last run reads everything again and must skip what is stored.
        #expect(try CLI.run(["-workspace", dir + "/ws"] + args, stdin: input).status == 0)
        #expect(kills > 0)
        #expect(try exportSorted(dir + "/ws") == expected)
    }
}
