import Auth
import Foundation
import Store
import Testing

/// `token`, `user` and `-email_reset` on a real workspace, and a token used over real HTTP.
@Suite(.serialized) struct AccountCLITests {
    /// A workspace with a database and an administrator (registered as the web UI does).
    static func workspace() async throws -> (dir: String, ws: String) {
        let dir = temporaryDirectory()
        let ws = dir + "/ws"
        let r = try CLI.run(["-workspace", ws, "-stdin", "-importonly"], stdin: Data())
        #expect(r.status == 0, "\(r.err)")
        let token = try CLI.run(["token", "create", "-workspace", ws])
        #expect(token.status != 0)
        #expect(token.err.contains("register the administrator"))
        var policy = AccountPolicy()
        policy.bcryptCost = 4
        _ = try await Accounts(db: try AppDatabase.open(workspace: ws), policy: policy)
            .register(name: "Ada", email: "ada@example.org", password: "correct horse battery staple")
        return (dir, ws)
    }

    @Test func tokensAreCreatedListedUsedAndRevoked() async throws {
        let (dir, ws) = try await Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let created = try CLI.run(["token", "create", "-workspace", ws, "-name", "backup script"])
        #expect(created.status == 0, "\(created.err)")
        let secret = created.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.hasPrefix("lmt_") && secret.count > 40)
        let list = try CLI.run(["token", "list", "-workspace", ws])
        #expect(list.out.contains("ada@example.org\tbackup script\t\(secret.prefix(10))"))
        #expect(!list.out.contains(secret))
        // Only the hash is in the database file.
        let file = try Data(contentsOf: URL(fileURLWithPath: ws + "/lightmeter.db"))
        #expect(file.range(of: Data(secret.utf8)) == nil)

        // The token over real HTTP.
        let server = try RunningServer.start(["-workspace", ws, "-stdin"])
        defer { server.stop() }
        let port = server.port
        var r = try httpGet(port: port, path: "/api/v0/user", headers: ["Authorization": "Bearer " + secret])
        #expect(r.hasPrefix("HTTP/1.1 200"), "\(r)")
        #expect(r.contains("\"email\":\"ada@example.org\""))
        r = try httpGet(port: port, path: "/api/v0/user")
        #expect(r.hasPrefix("HTTP/1.1 401"))
        r = try httpGet(port: port, path: "/")
        #expect(r.hasPrefix("HTTP/1.1 302") && r.lowercased().contains("location: /login"))
        r = try httpGet(port: port, path: "/healthz")
        #expect(r.contains("\"status\""))

        let id = list.out.split(separator: "\t")[0]
        let revoked = try CLI.run(["token", "revoke", "-workspace", ws, "-id", String(id)])
        #expect(revoked.status == 0, "\(revoked.err)")
        r = try httpGet(port: port, path: "/api/v0/user", headers: ["Authorization": "Bearer " + secret])
        #expect(r.hasPrefix("HTTP/1.1 401"))
    }

    @Test func emailResetAndUserDeletion() async throws {
        let (dir, ws) = try await Self.workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var r = try CLI.run(["-workspace", ws, "-email_reset", "ada@example.org", "-password", "password1"])
        #expect(r.status != 0)
        #expect(r.err.contains("common password"))
        r = try CLI.run(["-workspace", ws, "-email_reset", "nobody@example.org", "-password", "violet-otter-gravel-sunrise"])
        #expect(r.status != 0)
        #expect(r.err.contains("No account has this e-mail address."))
        // The password from standard input, a new address and name.
        r = try CLI.run(["-workspace", ws, "-email_reset", "ada@example.org", "-new_email", "ada@new.example", "-new_user_name", "Ada L."],
                        stdin: Data("violet-otter-gravel-sunrise\n".utf8))
        #expect(r.status == 0, "\(r.err)")
        let accounts = Accounts(db: try AppDatabase.open(workspace: ws))
        guard case .success(let u) = try await accounts.login(email: "ada@new.example", password: "violet-otter-gravel-sunrise") else {
            Issue.record("the reset password does not log in"); return
        }
        #expect(u.name == "Ada L.")
        r = try CLI.run(["-workspace", ws, "-password", "x"])
        #expect(r.status != 0 && r.err.contains("go with -email_reset"))
        let list = try CLI.run(["user", "list", "-workspace", ws])
        #expect(list.out.contains("ada@new.example\tAda L.\tadministrator"))
        r = try CLI.run(["user", "delete", "-workspace", ws, "-email", "ada@new.example"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("registers a new administrator"))
        #expect(try accounts.db.userCount() == 0)
    }
}
