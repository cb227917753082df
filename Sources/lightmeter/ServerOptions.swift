import ArgumentParser
import Auth
import Ingest
import PostfixLog

/// The server's options, named as in the Go original. Each falls back to `LIGHTMETER_<NAME>`.
struct ServerOptions: ParsableArguments {
    @Option(name: .customLong("workspace", withSingleDash: true),
            help: "Directory of the database and all working data (env: LIGHTMETER_WORKSPACE; default /var/lib/lightmeter_workspace).")
    var workspace: String?

    @Flag(name: .customLong("stdin", withSingleDash: true), help: "Read log lines from standard input (env: LIGHTMETER_STDIN).")
    var stdin = false

    @Option(name: .customLong("watch_dir", withSingleDash: true),
            help: "Directory of the mail logs to import and follow, rotated files included; repeatable (env: LIGHTMETER_WATCH_DIR, several separated by ':').")
    var watchDirs: [String] = []

    @Flag(name: .customLong("logs_use_rsync", withSingleDash: true),
          help: "The watched directory is filled by rsync (a temporary file, then a rename): only the new tail of a renamed file is read (env: LIGHTMETER_LOGS_USE_RSYNC). Files are recognised by their first line, so this works with or without the flag.")
    var logsUseRsync = false

    @Option(name: .customLong("socket", withSingleDash: true),
            help: "Receive log lines on a socket: unix=/path or tcp=HOST:PORT (also unix;... and tcp;...), one or many connections (env: LIGHTMETER_SOCKET).")
    var socket: String?

    @Option(name: .customLong("syslog", withSingleDash: true),
            help: "Receive syslog (RFC 5424 or RFC 3164; octet-counted or newline framing) on tcp=HOST:PORT, udp=HOST:PORT or unix=/path; repeatable (env: LIGHTMETER_SYSLOG, several separated by ',').")
    var syslog: [String] = []

    @Option(name: .customLong("log_file_patterns", withSingleDash: true),
            help: "Log file names to look for in -watch_dir, separated by ':' (env: LIGHTMETER_LOG_FILE_PATTERNS; default mail.log:mail.warn:mail.err:maillog:zimbra.log).")
    var logFilePatterns: String?

    @Flag(name: .customLong("importonly", withSingleDash: true),
          help: "Import what the sources hold now, then exit without serving (env: LIGHTMETER_IMPORTONLY).")
    var importOnly = false

    @Option(name: .customLong("log_format", withSingleDash: true),
            help: "Line format: default, rfc3339, prepend-rfc3339 or logstash (env: LIGHTMETER_LOG_FORMAT).")
    var logFormat: String?

    @Option(name: .customLong("log_starting_year", withSingleDash: true),
            help: "Year of the first line of a stream whose stamps have no year (env: LIGHTMETER_LOG_STARTING_YEAR; default: this year).")
    var logStartingYear: Int?

    @Option(name: .customLong("data_retention_days", withSingleDash: true),
            help: "Delete tracked data older than this many days (env: LIGHTMETER_DATA_RETENTION_DAYS; default: the Settings page's value, else 90).")
    var dataRetentionDays: Int?

    @Option(name: .customLong("listen", withSingleDash: true),
            help: "Address of the web server, HOST:PORT or :PORT for every interface (env: LIGHTMETER_LISTEN; default :8080). Not with -importonly.")
    var listen: String?

    @Flag(name: .customLong("verbose", withSingleDash: true), help: "Log more (env: LIGHTMETER_VERBOSE).")
    var verbose = false

    @Option(name: .customLong("assets_dir", withSingleDash: true),
            help: "Where Debian's web libraries are: Chart.js in chart.js/ (env: LIGHTMETER_ASSETS_DIR; default /usr/share/javascript, from libjs-chart.js).")
    var assetsDir: String?

    @Flag(name: .customLong("allow_multiple_users", withSingleDash: true),
          help: "Let the administrator add more accounts on the Settings page (env: LIGHTMETER_ALLOW_MULTIPLE_USERS). There is never open self-registration.")
    var allowMultipleUsers = false

    @Option(name: .customLong("trusted_proxies", withSingleDash: true),
            help: "Reverse proxies whose X-Forwarded-For, Forwarded, X-Forwarded-Proto and X-Forwarded-Prefix are believed, besides loopback: CIDRs or addresses separated by commas (env: LIGHTMETER_TRUSTED_PROXIES).")
    var trustedProxies: String?

    @Flag(name: .customLong("i_know_what_am_doing_not_using_a_reverse_proxy", withSingleDash: true),
          help: "No reverse proxy stands in front: client addresses come from the socket and forwarding headers are ignored (env: LIGHTMETER_I_KNOW_WHAT_I_AM_DOING_NOT_USING_A_REVERSE_PROXY).")
    var noProxy = false

    @Option(name: .customLong("email_reset", withSingleDash: true),
            help: "Offline account recovery: set a new password (and with -new_email / -new_user_name, a new address or name) for the account with this address, then exit.")
    var emailReset: String?

    @Option(name: .customLong("password", withSingleDash: true), help: "The new password for -email_reset (default: read from standard input).")
    var password: String?

    @Option(name: .customLong("new_email", withSingleDash: true), help: "With -email_reset: the account's new e-mail address.")
    var newEmail: String?

    @Option(name: .customLong("new_user_name", withSingleDash: true), help: "With -email_reset: the account's new name.")
    var newUserName: String?

    @Option(name: .customLong("policy_listen", withSingleDash: true),
            help: "Serve Dovecot's authentication policy (brute-force protection) on HOST:PORT, e.g. 127.0.0.1:8086 (env: LIGHTMETER_POLICY_LISTEN; default: off).")
    var policyListen: String?

    @Flag(name: .customLong("dovecot_conf_gen", withSingleDash: true),
          help: "Print the Dovecot configuration for the policy endpoint of -policy_listen (with this workspace's key), then exit.")
    var dovecotConfGen = false

    @Flag(name: .customLong("dovecot_conf_is_old", withSingleDash: true),
          help: "With -dovecot_conf_gen: for a Dovecot older than 2.3.")
    var dovecotConfIsOld = false

    func resolve(_ env: Environment) throws -> Configuration {
        var c = Configuration()
        c.workspace = workspace ?? env.string("LIGHTMETER_WORKSPACE") ?? c.workspace
        c.stdin = stdin || env.bool("LIGHTMETER_STDIN") == true
        c.watchDirs = watchDirs.isEmpty ? (env.string("LIGHTMETER_WATCH_DIR")?.split(separator: ":").map(String.init) ?? []) : watchDirs
        if let p = logFilePatterns ?? env.string("LIGHTMETER_LOG_FILE_PATTERNS") {
            c.logFilePatterns = p.split(separator: ":").map(String.init).filter { !$0.isEmpty }
            guard !c.logFilePatterns.isEmpty else { throw ValidationError("-log_file_patterns names no pattern") }
        }
        let listenSpec = listen ?? env.string("LIGHTMETER_LISTEN") ?? ":8080"
        guard let colon = listenSpec.lastIndex(of: ":"), let port = Int(listenSpec[listenSpec.index(after: colon)...]),
              (0...65535).contains(port) else {
            throw ValidationError("-listen must be HOST:PORT or :PORT, not '\(listenSpec)'")
        }
        var host = String(listenSpec[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        c.listenHost = host.isEmpty ? "0.0.0.0" : host
        c.listenPort = port
        c.logsUseRsync = logsUseRsync || env.bool("LIGHTMETER_LOGS_USE_RSYNC") == true
        if c.logsUseRsync && c.watchDirs.isEmpty {
            throw ValidationError("-logs_use_rsync goes with -watch_dir")
        }
        if let spec = socket ?? env.string("LIGHTMETER_SOCKET") {
            guard let a = ListenAddress(spec), a.isStream else {
                throw ValidationError("-socket must be unix=/path or tcp=HOST:PORT, not '\(spec)'")
            }
            c.socket = a
        }
        for spec in syslog.isEmpty ? (env.string("LIGHTMETER_SYSLOG")?.split(separator: ",").map(String.init) ?? []) : syslog {
            guard let a = ListenAddress(spec) else {
                throw ValidationError("-syslog must be tcp=HOST:PORT, udp=HOST:PORT or unix=/path, not '\(spec)'")
            }
            c.syslog.append(a)
        }
        let sources = (c.stdin ? 1 : 0) + (c.watchDirs.isEmpty ? 0 : 1) + (c.socket != nil || !c.syslog.isEmpty ? 1 : 0)
        if sources > 1 {
            throw ValidationError(cli.t("use one kind of source: -stdin, -watch_dir, or -socket/-syslog"))
        }
        c.importOnly = importOnly || env.bool("LIGHTMETER_IMPORTONLY") == true
        c.verbose = verbose || env.bool("LIGHTMETER_VERBOSE") == true
        let formatName = logFormat ?? env.string("LIGHTMETER_LOG_FORMAT") ?? "default"
        guard let f = LogFormat(rawValue: formatName), f != .auto else {
            throw ValidationError("unknown log format '\(formatName)': use default, rfc3339, prepend-rfc3339 or logstash")
        }
        c.logFormat = f
        if let y = logStartingYear ?? env.int("LIGHTMETER_LOG_STARTING_YEAR") {
            guard (1970...9999).contains(y) else { throw ValidationError("-log_starting_year must be a year, not \(y)") }
            c.logStartingYear = y
        } else if let raw = env.string("LIGHTMETER_LOG_STARTING_YEAR") {
            throw ValidationError("LIGHTMETER_LOG_STARTING_YEAR must be a year, not '\(raw)'")
        }
        if let d = dataRetentionDays ?? env.int("LIGHTMETER_DATA_RETENTION_DAYS") {
            guard d >= 1 else { throw ValidationError("-data_retention_days must be at least 1") }
            c.dataRetentionDays = d
        }
        c.assetsDir = assetsDir ?? env.string("LIGHTMETER_ASSETS_DIR") ?? c.assetsDir
        c.allowMultipleUsers = allowMultipleUsers || env.bool("LIGHTMETER_ALLOW_MULTIPLE_USERS") == true
        c.noProxy = noProxy || env.bool("LIGHTMETER_I_KNOW_WHAT_I_AM_DOING_NOT_USING_A_REVERSE_PROXY") == true
        if let spec = trustedProxies ?? env.string("LIGHTMETER_TRUSTED_PROXIES") {
            guard let list = ProxyPolicy.parseTrusted(spec) else {
                throw ValidationError("-trusted_proxies must be addresses or CIDRs separated by commas, not '\(spec)'")
            }
            c.trustedProxies = list
        }
        if let spec = policyListen ?? env.string("LIGHTMETER_POLICY_LISTEN") {
            guard let colon = spec.lastIndex(of: ":"), let port = Int(spec[spec.index(after: colon)...]), (0...65535).contains(port) else {
                throw ValidationError("-policy_listen must be HOST:PORT or :PORT, not '\(spec)'")
            }
            var h = String(spec[..<colon])
            if h.hasPrefix("[") && h.hasSuffix("]") { h = String(h.dropFirst().dropLast()) }
            c.policyHost = h.isEmpty ? "0.0.0.0" : h
            c.policyPort = port
        }
        if dovecotConfIsOld && !dovecotConfGen { throw ValidationError("-dovecot_conf_is_old goes with -dovecot_conf_gen") }
        if emailReset == nil && (password != nil || newEmail != nil || newUserName != nil) {
            throw ValidationError("-password, -new_email and -new_user_name go with -email_reset")
        }
        return c
    }
}

/// What the server runs with, once flags and environment are resolved.
struct Configuration: Sendable {
    var workspace = "/var/lib/lightmeter_workspace"
    var stdin = false
    var watchDirs: [String] = []
    var socket: ListenAddress? = nil
    var logsUseRsync = false
    var listenHost = "0.0.0.0"
    var listenPort = 8080
    var syslog: [ListenAddress] = []
    var logFilePatterns = ["mail.log", "mail.warn", "mail.err", "maillog", "zimbra.log"]
    var importOnly = false
    var verbose = false
    var logFormat = LogFormat.default
    var logStartingYear: Int? = nil
    /// Given by flag or environment; else the Settings page's value, else 90.
    var dataRetentionDays: Int? = nil
    var assetsDir = "/usr/share/javascript"
    var allowMultipleUsers = false
    var noProxy = false
    var trustedProxies: [CIDR] = []
    /// The Dovecot policy endpoint (`-policy_listen`), when on.
    var policyHost: String? = nil
    var policyPort = 0
    var policyListen: String? { policyHost.map { "\($0):\(policyPort)" } }
}
