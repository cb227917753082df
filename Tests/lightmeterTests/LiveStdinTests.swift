import Foundation
import Testing

/// `tail -F mail.log | lightmeter -stdin`: lines that arrive are written while input pauses, and the
/// server stops on SIGTERM even though standard input stays open.
@Suite struct LiveStdinTests {
    @Test func pausesFlushAndSIGTERMStopsAnOpenStdin() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try RunningServer.start(["-workspace", dir + "/ws", "-stdin", "-log_starting_year", "2021"])
        let lines = ExportReportCLITests.log.split(separator: "\n").prefix(5).joined(separator: "\n") + "\n"
        try server.input.fileHandleForWriting.write(contentsOf: Data(lines.utf8))
        // Nothing more comes; within a few seconds what came is in the database.
        var rows: [String] = []
        for _ in 0..<40 where rows.isEmpty {
            Thread.sleep(forTimeInterval: 0.25)
            rows = try exportSorted(dir + "/ws")
        }
        #expect(rows.count == 1)
        #expect(rows.first?.contains("alice@mx.example") == true)
        let started = Date()
        let status = server.stop()
        #expect(Date().timeIntervalSince(started) < 10)
        #expect(status == 0)
    }
}
