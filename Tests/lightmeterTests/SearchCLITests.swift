import Foundation
import Store
import Testing

/// `lightmeter search` and `lightmeter insights` on a real workspace.
@Suite struct SearchCLITests {
    @Test func searchAndInsights() throws {
        let dir = try ExportReportCLITests.workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ws = dir + "/ws"
        var r = try CLI.run(["search", "-workspace", ws, "-recipient", "hotmail.com"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("5555EEEE55") && r.out.contains("bounced (returned to sender)  b@hotmail.com"))
        #expect(r.out.contains("deferred  c@live.com"), "the other recipients of the message")
        r = try CLI.run(["search", "-workspace", ws, "-status", "received", "-json"])
        let result = try JSONDecoder().decode(SearchResult.self, from: Data(r.out.utf8))
        #expect(result.messages.map(\.queueIDs) == [["3333CCCC33"]])
        #expect(result.messages.first?.recipients.first?.origRecipient == "team@mx.example")
        r = try CLI.run(["search", "-workspace", ws, "-status", "rejected"])
        #expect(r.out.contains("rejected  from <spam@bad.example> to <x@other.example>"))
        r = try CLI.run(["search", "-workspace", ws, "-sender", "nobody@nowhere.example"])
        #expect(r.err.contains("no message matches"))
        r = try CLI.run(["search", "-workspace", ws, "-status", "lost"])
        #expect(r.status != 0)

        let db = try AppDatabase.open(workspace: ws)
        _ = try db.insertInsight(Insight(time: 1_609_495_322, kind: "detective_escalation", category: "local", rating: "bad",
                                         title: "app@mx.example asks why a message to b@hotmail.com was not delivered",
                                         details: ["queue_ids": "5555EEEE55", "dsn": "5.1.1"], key: "k1"))
        r = try CLI.run(["insights", "-workspace", ws, "-json"])
        let lines = r.out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.count == r.out.split(separator: "\n").count, "one JSON object a line")
        let line = try #require(lines.first { $0["kind"] as? String == "detective_escalation" })
        #expect(line["time"] as? String == "2021-01-01T10:02:02Z")
        #expect(line["kind"] as? String == "detective_escalation" && line["rating"] as? String == "bad")
        #expect((line["details"] as? [String: String])?["dsn"] == "5.1.1")
        #expect(line["title"] as? String != nil)
        r = try CLI.run(["insights", "-workspace", ws, "-from", "2021-01-02"])
        #expect(!r.out.contains("detective_escalation") && r.out.contains("import_summary"))
    }
}

@Suite struct InsightsCLITests {
    /// `-importonly` replays the detectors over what it imported: `lightmeter insights` then lists them.
    @Test func anImportOnlyRunFindsTheInsightsOfItsPeriod() throws {
        var lines: [String] = []
        for i in 0..<30 {
            let q = String(format: "A%09X", i)
            let t = String(format: "Mar  3 10:%02d:00", i)
            lines.append("\(t) mx postfix/smtpd[1]: \(q): client=app[10.0.0.5]")
            lines.append("\(t) mx postfix/qmgr[3]: \(q): from=<app@mx.example>, size=300, nrcpt=1 (queue active)")
            let status = i % 3 == 0 ? "bounced" : "sent"
            lines.append("\(t) mx postfix/smtp[4]: \(q): to=<u\(i)@example.net>, relay=mx.example.net[192.0.2.10]:25, delay=1, delays=0/0/0/1, dsn=\(status == "sent" ? "2.0.0" : "5.1.1"), status=\(status) (\(status == "sent" ? "250 ok" : "550 5.1.1 unknown"))")
            lines.append("\(t) mx postfix/qmgr[3]: \(q): removed")
        }
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["-workspace", dir + "/ws", "-stdin", "-importonly", "-log_starting_year", "2026"], stdin: Data((lines.joined(separator: "\n") + "\n").utf8))
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("insights found in the imported logs"))
        let out = try CLI.run(["insights", "-workspace", dir + "/ws", "-json"]).out
        let kinds = out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.map { $0["kind"] as? String }
        #expect(kinds.contains("high_bounce_rate") && kinds.contains("import_summary"), "\(out)")
    }
}

@Suite struct RealLogInsightsTests {
    static let log = CLI.root + "/../shared/real-logs/fonylew_config-mailgateway_maillog"

    /// The historical replay over a real mail gateway's week: its bounce storm and its quiet weekend.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: log), "../shared/real-logs is not there"))
    func replayOverARealLog() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try CLI.run(["-workspace", dir + "/ws", "-stdin", "-importonly", "-log_starting_year", "2021"],
                            stdin: try Data(contentsOf: URL(fileURLWithPath: Self.log)))
        #expect(r.status == 0, "\(r.err)")
        let lines = try CLI.run(["insights", "-workspace", dir + "/ws", "-json"]).out.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let kinds = lines.map { $0["kind"] as! String }.sorted()
        #expect(kinds == ["high_bounce_rate", "import_summary", "mail_inactivity"], "\(lines)")
        let storm = try #require(lines.first { $0["kind"] as? String == "high_bounce_rate" })
        #expect(storm["time"] as? String == "2021-06-02T16:00:00Z" && storm["active"] as? Bool == true)
        #expect(lines.first { $0["kind"] as? String == "mail_inactivity" }?["active"] as? Bool == false)
    }
}
