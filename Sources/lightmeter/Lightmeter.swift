import ArgumentParser
import Guard
import Store

/// `lightmeter [options]` runs the server; `lightmeter COMMAND ...` runs one of the tools around the
/// same workspace. The tools are dispatched here so that their options (`-workspace`...) are theirs.
@main
enum Entry {
    static let tools: [String: any ParsableCommand.Type] = [
        "parse-stats": ParseStats.self,
        "export": Export.self,
        "report": ReportCommand.self,
        "search": SearchCommand.self,
        "insights": InsightsCommand.self,
        "token": TokenCommand.self,
        "user": UserCommand.self,
    ]

    static func main() async {
        let args = Array(CommandLine.arguments.dropFirst())
        if let first = args.first, let tool = tools[first] {
            if let async = tool as? any AsyncParsableCommand.Type {
                await async.main(Array(args.dropFirst()))
            } else {
                tool.main(Array(args.dropFirst()))
            }
        } else {
            await Lightmeter.main(args)
        }
    }
}

struct Lightmeter: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "lightmeter",
        abstract: "Control Center: follows Postfix logs, tracks every message, serves a web UI and an API.",
        discussion: """
            Every option can also come from its LIGHTMETER_* environment variable, named in its help \
            (LIGHTMETER_WORKSPACE, LIGHTMETER_WATCH_DIR, ...); an option given on the command line wins. \
            Options take one dash or two: -workspace and --workspace are the same.

            Commands (each has its own -help):
              export       every (message, recipient) outcome and rejection
              report       a pflogsumm-style summary of a period
              search       the message detective: find messages and every attempt
              insights     what the administrator should know (escalations...)
              parse-stats  what log files hold, and what is not understood
              token        create, list and revoke API tokens
              user         list and delete accounts of the web UI

            Account recovery, offline: lightmeter -workspace DIR -email_reset ADDRESS [-password NEW] \
            [-new_email ADDRESS] [-new_user_name NAME] (without -password, it is read from standard input).
            """,
        helpNames: [.short, .long, .customLong("help", withSingleDash: true)]
    )

    @OptionGroup var options: ServerOptions

    @Flag(name: [.customLong("version", withSingleDash: true), .customLong("version")], help: "Print the version and exit.")
    var version = false

    func validate() throws {
        if version { return }
        _ = try options.resolve(Environment.current)
    }

    func run() async throws {
        if version {
            print("lightmeter \(Lightmeter.version)")
            return
        }
        let config = try options.resolve(Environment.current)
        if let email = options.emailReset {
            try await resetAccount(workspace: config.workspace, email: email, password: options.password,
                                   newEmail: options.newEmail, newName: options.newUserName)
            return
        }
        if options.dovecotConfGen {
            let db = try AppDatabase.open(workspace: config.workspace)
            let secrets = try PolicySecrets.load(db)
            let host = config.policyHost.map { $0 == "0.0.0.0" || $0 == "::" ? "127.0.0.1" : $0 } ?? "127.0.0.1"
            let url = "http://\(host.contains(":") ? "[\(host)]" : host):\(config.policyHost == nil ? 8086 : config.policyPort)/"
            if config.policyHost == nil {
                printError("lightmeter: " + cli.t("no -policy_listen given: the configuration points at 127.0.0.1:8086; run lightmeter with -policy_listen 127.0.0.1:8086"))
            }
            print(DovecotConfig.generate(url: url, secrets: secrets, old: options.dovecotConfIsOld), terminator: "")
            return
        }
        if !config.stdin && config.watchDirs.isEmpty && config.socket == nil && config.syslog.isEmpty {
            throw ValidationError(cli.t("no log source: give -watch_dir DIR, -stdin, -socket or -syslog (see -help)"))
        }
        try await Server(config: config).run()
    }
}
