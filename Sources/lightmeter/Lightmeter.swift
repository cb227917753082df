import ArgumentParser

@main
struct Lightmeter: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "lightmeter",
        abstract: "Control Center: follows Postfix logs, tracks every message, serves a web UI and an API.",
        discussion: """
            Every option of the server can also come from its LIGHTMETER_* environment variable \
            (LIGHTMETER_WORKSPACE, LIGHTMETER_WATCH_DIR, ...); an option given on the command line wins. \
            Options take one dash or two: -workspace and --workspace are the same.
            """,
        version: version,
        subcommands: [Run.self, ParseStats.self],
        defaultSubcommand: Run.self,
        helpNames: [.short, .long, .customLong("help", withSingleDash: true)]
    )
}
