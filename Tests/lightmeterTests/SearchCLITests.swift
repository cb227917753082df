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
        let line = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        #expect(line["time"] as? String == "2021-01-01T10:02:02Z")
        #expect(line["kind"] as? String == "detective_escalation" && line["rating"] as? String == "bad")
        #expect((line["details"] as? [String: String])?["dsn"] == "5.1.1")
        #expect(line["title"] as? String != nil)
        r = try CLI.run(["insights", "-workspace", ws, "-from", "2021-01-02"])
        #expect(r.out.isEmpty)
    }
}
