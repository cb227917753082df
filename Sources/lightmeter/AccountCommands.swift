import ArgumentParser
import Auth
import Foundation
import Store

struct WorkspaceOption: ParsableArguments {
    @Option(name: .customLong("workspace", withSingleDash: true),
            help: "The workspace directory (env: LIGHTMETER_WORKSPACE; default /var/lib/lightmeter_workspace).")
    var workspace: String?

    func open() throws -> AppDatabase { try openExistingWorkspace(workspace) }
}

/// `lightmeter token create|list|revoke`: personal API tokens, for scripts (`Authorization: Bearer`).
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lightmeter token",
        abstract: "Create, list and revoke API tokens (used as Authorization: Bearer TOKEN).",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print it (it is shown once; only its hash is kept).")
        @OptionGroup var ws: WorkspaceOption
        @Option(name: .customLong("name", withSingleDash: true), help: "What the token is for.")
        var name = "cli"
        @Option(name: .customLong("email", withSingleDash: true), help: "The account the token acts as (default: the first administrator).")
        var email: String?

        func run() async throws {
            let db = try ws.open()
            let user = try findUser(db, email: email)
            let (secret, _) = try Accounts(db: db).createToken(for: user, name: name)
            print(secret)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the tokens of every account.")
        @OptionGroup var ws: WorkspaceOption

        func run() throws {
            let db = try ws.open()
            for u in try db.users() {
                for t in try db.tokens(userID: u.id!) {
                    let used = t.lastUsedAt.map { rfc3339($0) } ?? "never"
                    print("\(t.id!)\t\(u.email)\t\(t.name)\t\(t.prefix)…\tcreated \(rfc3339(t.createdAt))\tlast used \(used)")
                }
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by the id `list` shows.")
        @OptionGroup var ws: WorkspaceOption
        @Option(name: .customLong("id", withSingleDash: true), help: "The token's id.")
        var id: Int64

        func run() throws {
            let db = try ws.open()
            for u in try db.users() where try db.deleteToken(id: id, userID: u.id!) {
                print("revoked token \(id) of \(u.email)")
                return
            }
            throw ValidationError(cli.t("no token has the id {{id}}", ["id": String(id)]))
        }
    }
}

/// `lightmeter user list|delete`: the accounts of the web UI, offline.
struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lightmeter user",
        abstract: "List or delete the accounts of the web UI. To change a password, see -email_reset.",
        subcommands: [List.self, Delete.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the accounts.")
        @OptionGroup var ws: WorkspaceOption

        func run() throws {
            for u in try ws.open().users() {
                print("\(u.email)\t\(u.name)\t\(u.isAdmin ? "administrator" : "user")\tcreated \(rfc3339(u.createdAt))")
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an account, its sessions and its tokens.")
        @OptionGroup var ws: WorkspaceOption
        @Option(name: .customLong("email", withSingleDash: true), help: "The account's e-mail address.")
        var email: String

        func run() throws {
            let db = try ws.open()
            guard let u = try db.user(email: email) else { throw ValidationError(cli.t("no account has the address {{email}}", ["email": email])) }
            try db.deleteUser(id: u.id!)
            print("deleted \(u.email)" + (try db.userCount() == 0 ? "; the next visit to the web UI registers a new administrator" : ""))
        }
    }
}

func findUser(_ db: AppDatabase, email: String?) throws -> User {
    if let email {
        guard let u = try db.user(email: email) else { throw ValidationError(cli.t("no account has the address {{email}}", ["email": email])) }
        return u
    }
    guard let u = try db.users().first(where: \.isAdmin) else {
        throw ValidationError(cli.t("no account yet: register the administrator in the web UI first"))
    }
    return u
}

/// `lightmeter -email_reset EMAIL -password NEW [-new_email E] [-new_user_name N]`: offline recovery.
/// Without -password, the new password is read from standard input (kept out of `ps` and shell history).
func resetAccount(workspace: String, email: String, password: String?, newEmail: String?, newName: String?) async throws {
    let db = try openExistingWorkspace(workspace)
    var pw = password ?? ""
    if password == nil {
        if isatty(0) != 0 { printError(cli.t("new password: ")) }
        pw = readLine(strippingNewline: true) ?? ""
    }
    do {
        let u = try await Accounts(db: db).reset(email: email, password: pw, newEmail: newEmail, newName: newName)
        print("lightmeter: " + cli.t("account {{email}} ({{name}}) updated; its sessions have ended", ["email": u.email, "name": u.name]))
    } catch let e as AccountError {
        throw ValidationError(cli.t(e.description))
    }
}
