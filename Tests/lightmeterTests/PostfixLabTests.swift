import Foundation
import Store
import Testing

/// A real Postfix on loopback (scripts/postfix-lab): its log, imported, must give exactly the outcomes
/// the scenario expects. Needs root (Postfix's master runs as root); installs postfix and swaks if missing.
@Suite(.enabled(if: getuid() == 0, "the Postfix lab needs root"))
struct PostfixLabTests {
    @Test(.timeLimit(.minutes(6)))
    func exportMatchesWhatRealPostfixDid() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lab = Process()
        lab.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        lab.arguments = ["python3", CLI.root + "/scripts/postfix-lab", dir + "/lab"]
        let err = Pipe()
        lab.standardError = err
        try lab.run()
        let labErr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        lab.waitUntilExit()
        try #require(lab.terminationStatus == 0, "postfix-lab failed: \(labErr)")

        let year = Calendar(identifier: .gregorian).component(.year, from: Date())
        let log = try Data(contentsOf: URL(fileURLWithPath: dir + "/lab/maillog"))
        let imp = try CLI.run(["-workspace", dir + "/ws", "-stdin", "-importonly", "-log_starting_year", String(year)], stdin: log)
        #expect(imp.status == 0, "\(imp.err)")
        #expect(imp.out.contains("0 of"), "Postfix lines not understood: \(imp.out)")
        let export = try CLI.run(["export", "-workspace", dir + "/ws"])
        let rows = try export.out.split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        let expected = try String(contentsOfFile: dir + "/lab/expected.jsonl", encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        #expect(expected.count >= 12)
        #expect(rows.count == expected.count, "export: \(export.out)")
        for e in expected {
            let match = rows.first { r in
                (r["recipient"] as? String) == (e["recipient"] as? String)
                    && ((e["status"] as? String) == "rejected"
                        ? (r["status"] as? String) == "rejected"
                        : (r["message_id"] as? String) == (e["message_id"] as? String))
            }
            guard let r = match else {
                Issue.record("no export row for \(e)")
                continue
            }
            for (k, v) in e where !(v is NSNull) {
                #expect("\(r[k] ?? "nil")" == "\(v)", "\(k) of \(e["message_id"] ?? "") to \(e["recipient"] ?? ""): \(r)")
            }
            if (e["status"] as? String) == "expired" {
                #expect((r["attempts"] as? Int ?? 0) >= 1)
            }
        }

        // The detective finds every message of the lab in its state (Received for mail delivered here).
        var byState: [String: Set<String>] = [:]
        for e in expected {
            guard let rcpt = e["recipient"] as? String, let status = e["status"] as? String else { continue }
            let direction = e["direction"] as? String
            // Without a direction in the scenario, a delivery may be either: not checked here.
            let state: String? = status == "sent" ? direction.map { $0 == "outbound" ? "sent" : "received" } : status
            if let state { byState[state, default: []].insert(rcpt) }
            if e["returned"] as? Bool == true { byState["returned", default: []].insert(rcpt) }
        }
        #expect(Set(byState.keys).isSuperset(of: ["sent", "received", "bounced", "deferred", "expired", "returned", "rejected"]), "\(byState.keys)")
        for (state, recipients) in byState {
            let r = try CLI.run(["search", "-workspace", dir + "/ws", "-status", state, "-json"])
            #expect(r.status == 0, "\(r.err)")
            let found = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
            var got = Set<String>()
            for m in found["messages"] as! [[String: Any]] {
                for rc in m["recipients"] as! [[String: Any]] where (rc["status"] as? String) == state || (state == "returned" && rc["returned"] as? Bool == true) {
                    got.insert(rc["recipient"] as! String)
                }
            }
            for rj in found["rejections"] as! [[String: Any]] { got.insert(rj["recipient"] as? String ?? "") }
            #expect(recipients.isSubset(of: got), "\(state): expected \(recipients), found \(got)")
        }

        // SMTP AUTH failures, as Postfix and Dovecot logged them.
        let auth = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/lab/expected-auth.json"))) as! [String: Any]
        let postfixStats = try CLI.run(["parse-stats", "--json", dir + "/lab/maillog"])
        let p = try JSONSerialization.jsonObject(with: Data(postfixStats.out.utf8)) as! [String: Any]
        #expect((p["by_kind"] as! [String: Int])["smtpd.sasl-failed"] == auth["smtpd_sasl_failed"] as? Int)
        #expect(p["postfix_unsupported"] as? Int == 0)
        let dovecotStats = try CLI.run(["parse-stats", "--json", dir + "/lab/dovecot.log"])
        let d = try JSONSerialization.jsonObject(with: Data(dovecotStats.out.utf8)) as! [String: Any]
        #expect((d["by_kind"] as! [String: Int])["dovecot.auth-failure"] == auth["dovecot_auth_failures"] as? Int)
        // The logins the import kept: the failures once (Dovecot's auth process repeats them), alice's login.
        let db = try AppDatabase.open(workspace: dir + "/ws")
        let logins = try db.loginStats(from: 0, to: Int64.max, now: 0)
        #expect(logins.failedAttempts == auth["smtpd_sasl_failed"] as? Int)
        #expect(logins.failingIPs == 1)
        #expect(logins.successfulLogins >= 1)
        #expect(logins.successesAfterFailures == 0) // the login came first
    }
}
