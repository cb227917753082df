import Foundation
import Testing

/// `export` (JSON lines, CSV, periods) and `report` (text, JSON) on a small log with known outcomes.
@Suite struct ExportReportCLITests {
    static let log = """
        Jan  1 10:00:00 mx postfix/smtpd[1]: 3333CCCC33: client=ext.example[203.0.113.9]
        Jan  1 10:00:00 mx postfix/cleanup[2]: 3333CCCC33: message-id=<m3@ext.example>
        Jan  1 10:00:00 mx postfix/qmgr[3]: 3333CCCC33: from=<s@ext.example>, size=100, nrcpt=1 (queue active)
        Jan  1 10:00:02 mx postfix/local[6]: 3333CCCC33: to=<alice@mx.example>, orig_to=<team@mx.example>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
        Jan  1 10:00:02 mx postfix/qmgr[3]: 3333CCCC33: removed
        Jan  1 10:01:00 mx postfix/smtpd[1]: NOQUEUE: reject: RCPT from bad.example[192.0.2.7]: 554 5.7.1 <x@other.example>: Relay access denied; from=<spam@bad.example> to=<x@other.example> proto=ESMTP helo=<bad>
        Jan  2 10:02:00 mx postfix/smtpd[1]: 5555EEEE55: client=app[10.0.0.5], sasl_method=PLAIN, sasl_username=app
        Jan  2 10:02:00 mx postfix/qmgr[3]: 5555EEEE55: from=<app@mx.example>, size=300, nrcpt=2 (queue active)
        Jan  2 10:02:01 mx postfix/smtp[4]: 5555EEEE55: to=<b@hotmail.com>, relay=mx.hotmail.com[198.51.100.2]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx.hotmail.com[198.51.100.2] said: 550 5.1.1 unknown, "quoted" (in reply to RCPT TO command))
        Jan  2 10:02:02 mx postfix/smtp[5]: 5555EEEE55: to=<c@live.com>, relay=mx.live.com[198.51.100.3]:25, delay=2, delays=0/0/0/2, dsn=4.2.0, status=deferred (host mx.live.com[198.51.100.3] said: 421 4.2.0 later)
        Jan  2 10:02:02 mx postfix/cleanup[2]: 6666FFFF66: message-id=<20210102100202.6666FFFF66@mx.example>
        Jan  2 10:02:02 mx postfix/qmgr[3]: 6666FFFF66: from=<>, size=2000, nrcpt=1 (queue active)
        Jan  2 10:02:02 mx postfix/bounce[7]: 5555EEEE55: sender non-delivery notification: 6666FFFF66
        Jan  2 10:02:03 mx postfix/local[6]: 6666FFFF66: to=<app@mx.example>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)
        Jan  2 10:02:03 mx postfix/qmgr[3]: 6666FFFF66: removed

        """

    static func workspace() throws -> String {
        let dir = temporaryDirectory()
        let r = try CLI.run(["-workspace", dir + "/ws", "-stdin", "-importonly", "-log_starting_year", "2021"], stdin: Data(log.utf8))
        #expect(r.status == 0, "\(r.err)")
        return dir
    }

    @Test func jsonLinesWithEveryFieldAndPeriods() throws {
        let dir = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let all = try CLI.run(["export", "-workspace", dir + "/ws"]).out.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(all.count == 4)
        let fields: Set<String> = ["queue_id", "queue_ids", "message_id", "sender", "recipient", "orig_recipient", "status",
                                   "returned", "attempts", "first_seen", "last_seen", "dsn", "relay", "direction",
                                   "client_ip", "size", "reason"]
        for row in all { #expect(Set(row.keys) == fields) }
        let sent = all.first { $0["recipient"] as? String == "alice@mx.example" }!
        #expect(sent["queue_ids"] as? [String] == ["3333CCCC33"])
        #expect(sent["message_id"] as? String == "m3@ext.example")
        #expect(sent["orig_recipient"] as? String == "team@mx.example")
        #expect(sent["direction"] as? String == "inbound")
        #expect(sent["first_seen"] as? String == "2021-01-01T10:00:00Z")
        #expect(sent["last_seen"] as? String == "2021-01-01T10:00:02Z")
        #expect(sent["size"] as? Int == 100)
        let bounced = all.first { $0["recipient"] as? String == "b@hotmail.com" }!
        #expect(bounced["returned"] as? Bool == true && bounced["status"] as? String == "bounced")
        let rejected = all.first { $0["status"] as? String == "rejected" }!
        #expect(rejected["client_ip"] as? String == "192.0.2.7" && (rejected["reason"] as? String)?.hasPrefix("554 ") == true)
        // Periods: the first day holds the local delivery and the rejection, the second the rest.
        #expect(try CLI.run(["export", "-workspace", dir + "/ws", "-from", "2021-01-01", "-to", "2021-01-01"]).out.split(separator: "\n").count == 2)
        #expect(try CLI.run(["export", "-workspace", dir + "/ws", "-from", "2021-01-02"]).out.split(separator: "\n").count == 2)
        #expect(try CLI.run(["export", "-workspace", dir + "/ws", "-from", "2021-13-01"]).status != 0)
        #expect(try CLI.run(["export", "-workspace", dir + "/nothing"]).err.contains("import logs first"))
    }

    @Test func csvQuotesWhatItMust() throws {
        let dir = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lines = try CLI.run(["export", "-workspace", dir + "/ws", "-format", "csv"]).out.split(separator: "\n").map(String.init)
        #expect(lines[0] == "queue_id,queue_ids,message_id,sender,recipient,orig_recipient,status,returned,attempts,first_seen,last_seen,dsn,relay,direction,client_ip,size,reason")
        #expect(lines.count == 5)
        let bounce = lines.first { $0.contains("b@hotmail.com") }!
        #expect(bounce.contains(",bounced,true,1,"))
        #expect(bounce.hasSuffix("\"host mx.hotmail.com[198.51.100.2] said: 550 5.1.1 unknown, \"\"quoted\"\" (in reply to RCPT TO command)\""))
    }

    @Test func reportCountsRightInTextAndJSON() throws {
        let dir = try Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = try CLI.run(["report", "-workspace", dir + "/ws"])
        #expect(text.status == 0)
        #expect(text.out.contains("received or submitted  2"))
        #expect(text.out.contains("notifications sent     1"))
        #expect(text.out.contains("rejected               1"))
        let json = try CLI.run(["report", "-workspace", dir + "/ws", "--json"])
        let r = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as! [String: Any]
        #expect(r["messages"] as? Int == 2)
        #expect(r["returned"] as? Int == 1)
        #expect(r["rejections"] as? Int == 1)
        #expect(r["deferred_recipients"] as? Int == 1)
        #expect(r["by_status"] as? [String: Int] == ["sent": 1, "bounced": 1, "deferred": 1])
        // hotmail.com and live.com are one provider.
        let domains = (r["top_domains"] as! [[String: Any]]).map { "\($0["key"]!)=\($0["count"]!)" }
        #expect(domains.contains("outlook.com=2"))
        let bounces = r["bounce_reasons"] as! [[String: Any]]
        #expect(bounces.first?["dsn"] as? String == "5.1.1")
        #expect((r["per_hour"] as! [[String: Any]]).map { $0["key"] as! String } == ["2021-01-01T10", "2021-01-02T10"])
    }
}
