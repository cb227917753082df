import Foundation
import Insights
import L10n
@testable import Notify
import Store
import Testing

/// E-mail notifications through the real Postfix of scripts/postfix-lab (`--serve`: STARTTLS, TLS from
/// the first byte, SASL through Dovecot): the message must land in the mailbox.
@Suite(.enabled(if: getuid() == 0, "the Postfix lab needs root"), .serialized)
struct EmailLabTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    struct Lab {
        var dir: String
        var starttlsPort: Int
        var tlsPort: Int
        var mailboxes: [String: String]
    }

    static func lab(_ mode: String, _ dir: String) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", root + "/scripts/postfix-lab", dir, mode]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    static func start() throws -> Lab {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lm-mail-lab-\(UUID().uuidString.prefix(8))").path
        let (status, err) = try lab("--serve", dir)
        try #require(status == 0, "postfix-lab --serve failed: \(err)")
        let info = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/lab.json"))) as! [String: Any]
        return Lab(dir: dir, starttlsPort: info["starttls_port"] as! Int, tlsPort: info["tls_port"] as! Int,
                   mailboxes: info["mailboxes"] as! [String: String])
    }

    static func stop(_ lab: Lab) {
        _ = try? Self.lab("--stop", lab.dir)
        try? FileManager.default.removeItem(atPath: lab.dir)
    }

    /// Waits until the mailbox holds `text`; returns the mailbox.
    static func waitForMail(_ path: String, containing text: String) async throws -> String {
        for _ in 0..<150 {
            if let box = try? String(contentsOfFile: path, encoding: .utf8), box.contains(text) { return box }
            try await Task.sleep(for: .milliseconds(200))
        }
        return (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
    }

    func settings(_ lab: Lab, port: Int, security: String, verify: Bool = false, password: String = "secret", to: String = "bob@lab.example") -> SettingsBox {
        SettingsBox(["notifications.smtp_host": "127.0.0.1", "notifications.smtp_port": String(port), "notifications.smtp_security": security,
                     "notifications.smtp_tls_verify": verify ? "true" : "false", "notifications.smtp_username": "alice@lab.example",
                     "notifications.smtp_password": password, "notifications.smtp_from": "lightmeter@lab.example", "notifications.smtp_to": to,
                     "notifications.language": "de", "general.public_url": "https://mail.lab.example"])
    }

    @Test(.timeLimit(.minutes(3)))
    func notificationsLandInTheMailbox() async throws {
        let lab = try Self.start()
        defer { Self.stop(lab) }
        let clock = ManualClock(Int64(Date().timeIntervalSince1970))
        let server = FakeServer { _, _ in .init() } // not started: Slack is not set up here

        // STARTTLS and a password login: an insight from the outbox, in German, lands in bob's mailbox.
        let db = try AppDatabase.inMemory()
        let s = settings(lab, port: lab.starttlsPort, security: "starttls")
        let notifier = makeNotifier(db, s, clock, server: server)
        await notifier.runOnce()
        let saved = try #require(try db.insertInsight(bounceInsight(1, time: clock.now)))
        let sent = await notifier.runOnce()
        #expect(sent == 1, "\((try? db.outboxItems().map { $0.lastError ?? "" }) ?? [])")
        let box = try await Self.waitForMail(lab.mailboxes["bob"]!, containing: "lm-email-\(saved.id!)")
        #expect(box.contains("Message-ID: <lm-email-\(saved.id!)@lab.example>"))
        #expect(box.contains("Content-Type: multipart/alternative"))
        #expect(box.contains("From: Control Center <lightmeter@lab.example>"))
        // The parts, decoded: German text and HTML with the log-derived text escaped.
        let parts = box.components(separatedBy: "Content-Transfer-Encoding: base64").dropFirst().map { part -> String in
            let b64 = part.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                .drop { $0.isEmpty }.prefix { !$0.isEmpty && !$0.hasPrefix("--") }.joined()
            return String(decoding: Data(base64Encoded: b64) ?? Data(), as: UTF8.self)
        }
        try #require(parts.count == 2)
        let de = Translations.shared.localizer("de")
        #expect(parts[0].contains(de.t("Sent by Control Center, the mail-ops monitor of your Postfix server.")))
        #expect(parts[1].contains("shop&lt;1&gt;.example"))
        #expect(parts[1].contains("https://mail.lab.example/insights?state=all#insight-\(saved.id!)"))
        // TLS in Postfix's log, and the SASL login.
        let maillog = (try? String(contentsOfFile: lab.dir + "/maillog", encoding: .utf8)) ?? ""
        #expect(maillog.contains("TLS connection established"))
        #expect(maillog.contains("sasl_username=alice@lab.example"))

        // TLS from the first byte, through the test button.
        let tlsNotifier = makeNotifier(db, settings(lab, port: lab.tlsPort, security: "tls", to: "alice@lab.example"), clock, server: server)
        guard case .success = await tlsNotifier.sendTest(channel: "email") else { Issue.record("the TLS test failed"); return }
        _ = try await Self.waitForMail(lab.mailboxes["alice"]!, containing: "Message-ID: <test-email-")
        #expect(try String(contentsOfFile: lab.mailboxes["alice"]!, encoding: .utf8).contains("X-Lightmeter-Delivery: test-email-"))

        // A certificate nobody signed is refused when checking is on; a wrong password is reported.
        let strict = makeNotifier(db, settings(lab, port: lab.starttlsPort, security: "starttls", verify: true), clock, server: server)
        guard case .failure(let e1) = await strict.sendTest(channel: "email") else { Issue.record("a self-signed certificate passed"); return }
        #expect(e1.message.lowercased().contains("certificate") || e1.message.contains("SSL"), "\(e1.message)")
        let wrong = makeNotifier(db, settings(lab, port: lab.starttlsPort, security: "starttls", password: "nope"), clock, server: server)
        guard case .failure(let e2) = await wrong.sendTest(channel: "email") else { Issue.record("a wrong password passed"); return }
        #expect(e2.message.contains("refused the login"), "\(e2.message)")
        #expect(e2.kind == .configuration)
    }
}
