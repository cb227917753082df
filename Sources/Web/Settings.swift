import Auth
import Foundation
import Insights
import L10n
import Store

/// One setting: where it is stored, how it is edited and checked.
public struct SettingField: Sendable {
    public enum Kind: Sendable, Equatable {
        case text
        case url
        case ip
        case integer(ClosedRange<Int>)
        case bool
        case secret
        case email
        case emails
        case choice([String])
        case language
        /// Several of these (insight kinds), stored comma-separated; "none" for none.
        case kinds([String])
        /// Addresses or CIDR networks, separated by commas or spaces.
        case cidrs
        /// Files (absolute paths) or http(s) URLs, separated by commas or spaces.
        case sources
        /// DNS zones, separated by commas or spaces.
        case zones
    }

    public var key: SettingKey
    public var group: String
    public var label: String
    public var help: String
    public var kind: Kind
    public var defaultValue: String
    /// The part of the settings page it is edited in (a group can have several).
    public var section: String

    public init(key: SettingKey, group: String, section: String? = nil, label: String, help: String, kind: Kind, defaultValue: String) {
        self.key = key
        self.group = group
        self.section = section ?? group
        self.label = label
        self.help = help
        self.kind = kind
        self.defaultValue = defaultValue
    }
}

public enum SettingKey: String, Sendable, CaseIterable {
    case publicURL = "general.public_url"
    case language = "general.language"
    case postfixPublicIP = "general.postfix_public_ip"
    case dataRetentionDays = "general.data_retention_days"
    case slackToken = "notifications.slack_token"
    case slackChannel = "notifications.slack_channel"
    case smtpHost = "notifications.smtp_host"
    case smtpPort = "notifications.smtp_port"
    case smtpSecurity = "notifications.smtp_security"
    case smtpUsername = "notifications.smtp_username"
    case smtpPassword = "notifications.smtp_password"
    case smtpFrom = "notifications.smtp_from"
    case smtpTo = "notifications.smtp_to"
    case webhookURL = "notifications.webhook_url"
    case webhookSecret = "notifications.webhook_secret"
    case smtpTLSVerify = "notifications.smtp_tls_verify"
    case notificationKinds = "notifications.kinds"
    case notificationLanguage = "notifications.language"
    case bruteforceMaxFailures = "bruteforce.max_failures"
    case bruteforceWindowMinutes = "bruteforce.window_minutes"
    case bruteforceBlockHours = "bruteforce.block_hours"
    case bruteforceAllowlist = "bruteforce.allowlist"
    case bruteforceLists = "bruteforce.lists"
    case detectivePublicPage = "detective.public_page"
    case bounceRatePercent = "insights.bounce_rate_percent"
    case inactivityHours = "insights.inactivity_hours"
    case deferredCount = "insights.deferred_count"
    case deferredAgeHours = "insights.deferred_age_hours"
    case dnsbls = "insights.dnsbls"
    case authAttackFailures = "insights.auth_attack_failures"
    case authAttackPerAddress = "insights.auth_attack_per_address"
}

public enum SettingsSchema {
    public static let groups = ["general", "notifications", "detective", "insights", "bruteforce"]
    /// The sections of the settings page, in order: the notification channels have one each.
    public static let sections = ["general", "notifications", "slack", "email", "webhook", "detective", "insights", "bruteforce"]
    public static let sectionTitles = ["general": N_("General"), "notifications": N_("Notifications"), "slack": "Slack", "email": N_("E-mail notifications"),
                                       "webhook": N_("Webhook"), "detective": N_("Message detective"), "insights": N_("Insights"),
                                       "bruteforce": N_("SMTP & IMAP logins")]
    /// The sections that are notification channels (with a test button).
    public static let channelSections: Set<String> = ["slack", "email", "webhook"]

    public static let fields: [SettingField] = [
        .init(key: .publicURL, group: "general", label: N_("Public URL"), help: N_("The address users reach Control Center at, e.g. https://mail.example.com/lightmeter/ (used in links of notifications and under a path prefix)."), kind: .url, defaultValue: ""),
        .init(key: .language, group: "general", label: N_("Default language"), help: N_("For users who have not chosen one and browsers that ask for none we have."), kind: .language, defaultValue: ""),
        .init(key: .postfixPublicIP, group: "general", label: N_("Postfix public IP address"), help: N_("The address your server sends mail from: checked against blocklists."), kind: .ip, defaultValue: ""),
        .init(key: .dataRetentionDays, group: "general", label: N_("Data retention (days)"), help: N_("Tracked messages older than this are deleted. -data_retention_days, when given, wins."), kind: .integer(1...3650), defaultValue: "90"),
        .init(key: .notificationKinds, group: "notifications", label: N_("Insights that notify"), help: N_("Each new insight of a checked kind is sent to every channel set up below."), kind: .kinds(InsightText.kindLabels.keys.sorted()), defaultValue: InsightText.notifyByDefault.joined(separator: ",")),
        .init(key: .notificationLanguage, group: "notifications", label: N_("Language of notifications"), help: N_("Empty: the default language."), kind: .language, defaultValue: ""),
        .init(key: .slackToken, group: "notifications", section: "slack", label: N_("Slack bot token"), help: N_("A bot token (xoxb-...) with the chat:write scope."), kind: .secret, defaultValue: ""),
        .init(key: .slackChannel, group: "notifications", section: "slack", label: N_("Slack channel"), help: N_("The channel notifications go to, e.g. #mail-ops; invite the bot there."), kind: .text, defaultValue: ""),
        .init(key: .smtpHost, group: "notifications", section: "email", label: N_("SMTP server"), help: N_("The server notification e-mails are sent through."), kind: .text, defaultValue: ""),
        .init(key: .smtpPort, group: "notifications", section: "email", label: N_("SMTP port"), help: N_("587 for STARTTLS, 465 for TLS, 25 for none."), kind: .integer(1...65535), defaultValue: "587"),
        .init(key: .smtpSecurity, group: "notifications", section: "email", label: N_("SMTP security"), help: N_("How the connection is protected."), kind: .choice(["starttls", "tls", "none"]), defaultValue: "starttls"),
        .init(key: .smtpTLSVerify, group: "notifications", section: "email", label: N_("Check the server's certificate"), help: N_("Turn off only for a server with a self-signed certificate on a network you trust."), kind: .bool, defaultValue: "true"),
        .init(key: .smtpUsername, group: "notifications", section: "email", label: N_("SMTP user name"), help: N_("Leave empty when the server needs no authentication."), kind: .text, defaultValue: ""),
        .init(key: .smtpPassword, group: "notifications", section: "email", label: N_("SMTP password"), help: N_("Kept in the workspace; never shown again once saved."), kind: .secret, defaultValue: ""),
        .init(key: .smtpFrom, group: "notifications", section: "email", label: N_("Sender address"), help: N_("The From: of notification e-mails."), kind: .email, defaultValue: ""),
        .init(key: .smtpTo, group: "notifications", section: "email", label: N_("Recipients"), help: N_("Addresses notifications go to, separated by commas."), kind: .emails, defaultValue: ""),
        .init(key: .webhookURL, group: "notifications", section: "webhook", label: N_("Webhook URL"), help: N_("Each notification is POSTed there as JSON (Mattermost, Teams, ntfy, your own script)."), kind: .url, defaultValue: ""),
        .init(key: .webhookSecret, group: "notifications", section: "webhook", label: N_("Webhook secret"), help: N_("When set, each request carries X-Lightmeter-Signature: sha256=HMAC of the body with this secret."), kind: .secret, defaultValue: ""),
        .init(key: .detectivePublicPage, group: "detective", label: N_("Public message detective"), help: N_("Lets people without an account check the delivery of their own messages."), kind: .bool, defaultValue: "false"),
        .init(key: .bounceRatePercent, group: "insights", label: N_("High bounce rate (%)"), help: N_("An insight is raised when this share of outbound deliveries bounces over 6 hours (at least 20 deliveries)."), kind: .integer(1...100), defaultValue: "5"),
        .init(key: .inactivityHours, group: "insights", label: N_("Mail inactivity (hours)"), help: N_("An insight is raised when no mail is sent or received for this long."), kind: .integer(1...720), defaultValue: "24"),
        .init(key: .deferredCount, group: "insights", label: N_("Deferred recipients waiting"), help: N_("An insight is raised when this many deferred recipients wait in the queue."), kind: .integer(1...1_000_000), defaultValue: "100"),
        .init(key: .deferredAgeHours, group: "insights", label: N_("Oldest deferral (hours)"), help: N_("An insight is raised when a deferred recipient has waited this long."), kind: .integer(1...720), defaultValue: "24"),
        .init(key: .dnsbls, group: "insights", label: N_("DNS blocklists"), help: N_("Zones the Postfix public IP is looked up in every 3 hours, separated by commas."), kind: .zones, defaultValue: DetectorSettings.defaultDNSBLs.joined(separator: ", ")),
        .init(key: .authAttackFailures, group: "insights", label: N_("Login attack: failed logins an hour"), help: N_("An insight is raised when this many SMTP, IMAP or POP3 logins fail within an hour."), kind: .integer(1...1_000_000), defaultValue: "100"),
        .init(key: .authAttackPerAddress, group: "insights", label: N_("Login attack: failures from one address"), help: N_("An insight is raised when one address fails this many logins within an hour."), kind: .integer(1...1_000_000), defaultValue: "30"),
        .init(key: .bruteforceMaxFailures, group: "bruteforce", label: N_("Failed logins before a block"), help: N_("An address with this many failed SMTP, IMAP or POP3 logins within the window is blocked."), kind: .integer(1...10000), defaultValue: "10"),
        .init(key: .bruteforceWindowMinutes, group: "bruteforce", label: N_("Window (minutes)"), help: N_("The failures counted are those of this many last minutes."), kind: .integer(1...1440), defaultValue: "10"),
        .init(key: .bruteforceBlockHours, group: "bruteforce", label: N_("Block for (hours)"), help: N_("How long an automatic block lasts."), kind: .integer(1...8760), defaultValue: "24"),
        .init(key: .bruteforceAllowlist, group: "bruteforce", label: N_("Never block"), help: N_("Addresses or networks (CIDR), separated by commas: your offices, your own servers. Loopback and the Postfix public IP are never blocked."), kind: .cidrs, defaultValue: ""),
        .init(key: .bruteforceLists, group: "bruteforce", label: N_("Blocklists to take in"), help: N_("Files or http(s) URLs of addresses and networks to refuse, one a line (e.g. Spamhaus DROP), separated by commas; read again every hour."), kind: .sources, defaultValue: ""),
    ]

    public static func field(_ key: String) -> SettingField? { fields.first { $0.key.rawValue == key } }
}

public struct SettingsError: Error, CustomStringConvertible {
    /// Per field key: what is wrong.
    public var problems: [String: Message]
    public var description: String { problems.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: "; ") }
}

/// The settings of the workspace database, cached, validated on the way in.
public final class SettingsStore: @unchecked Sendable {
    let db: AppDatabase
    let languages: [String]
    private let lock = NSLock()
    private var cache: [String: String]

    public init(db: AppDatabase, languages: [String]) throws {
        self.db = db
        self.languages = languages
        cache = try db.settings()
    }

    /// The stored value, or the default.
    public func value(_ key: SettingKey) -> String? {
        let v = lock.withLock { cache[key.rawValue] } ?? SettingsSchema.fields.first { $0.key == key }!.defaultValue
        return v.isEmpty ? nil : v
    }

    /// The value by key text (unknown keys: nil), defaults applied: what other targets read settings with.
    public func lookup(_ key: String) -> String? { SettingKey(rawValue: key).flatMap(value) }

    public func isSet(_ key: SettingKey) -> Bool { lock.withLock { cache[key.rawValue] } != nil }

    /// The path of the public URL, when it has one: "/lightmeter".
    public var publicPathPrefix: String {
        guard let u = value(.publicURL), let url = URL(string: u) else { return "" }
        return ProxyPolicy.cleanPrefix(url.path) ?? ""
    }

    /// Validates and saves `changes` (field key -> new value; nil or "" clears it; a secret left
    /// empty keeps its value unless `clearSecrets` names it). Nothing is saved if any is wrong.
    public func update(_ changes: [String: String?], clearSecrets: Set<String> = []) throws {
        var problems: [String: Message] = [:]
        var writes: [String: String?] = [:]
        for (key, raw) in changes {
            guard let field = SettingsSchema.field(key) else {
                problems[key] = Message(N_("Unknown setting."))
                continue
            }
            let value = (raw ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if field.kind == .secret {
                if !value.isEmpty { writes[key] = value } else if raw == nil || clearSecrets.contains(key) { writes[key] = .some(nil) }
                continue
            }
            if value.isEmpty {
                writes[key] = .some(nil)
                continue
            }
            if let problem = check(field, value) { problems[key] = problem } else { writes[key] = normalise(field, value) }
        }
        for key in clearSecrets where changes[key] == nil && SettingsSchema.field(key)?.kind == .secret { writes[key] = .some(nil) }
        guard problems.isEmpty else { throw SettingsError(problems: problems) }
        try db.saveSettings(writes)
        lock.withLock {
            for (k, v) in writes {
                if let v { cache[k] = v } else { cache[k] = nil }
            }
        }
    }

    func check(_ field: SettingField, _ v: String) -> Message? {
        switch field.kind {
        case .text, .secret: return v.count > 500 ? Message(N_("Too long.")) : nil
        case .url:
            guard let u = URL(string: v), let s = u.scheme?.lowercased(), s == "http" || s == "https", u.host?.isEmpty == false else {
                return Message(N_("Enter an http:// or https:// address."))
            }
            return nil
        case .ip:
            // An address alone: not "192.0.2.1:25".
            let isAddress = IPAddress(v) != nil && !v.contains("[") && !(v.contains(".") && v.contains(":"))
            return isAddress ? nil : Message(N_("Enter an IPv4 or IPv6 address."))
        case .integer(let r):
            guard let n = Int(v), r.contains(n) else {
                return Message(N_("Enter a whole number from {{min}} to {{max}}."), ["min": String(r.lowerBound), "max": String(r.upperBound)])
            }
            return nil
        case .bool: return ["true", "false", "on", "off", "1", "0"].contains(v.lowercased()) ? nil : Message(N_("Enter true or false."))
        case .email: return Accounts.isValidEmail(v) ? nil : Message(N_("Enter a valid e-mail address."))
        case .emails:
            let list = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return list.allSatisfy(Accounts.isValidEmail) ? nil : Message(N_("Enter e-mail addresses separated by commas."))
        case .choice(let options):
            return options.contains(v) ? nil : Message(N_("Choose one of: {{options}}."), ["options": options.joined(separator: ", ")])
        case .cidrs:
            let items = v.split(whereSeparator: { $0 == "," || $0.isWhitespace })
            let bad = items.filter { CIDR(String($0)) == nil }
            return bad.isEmpty ? nil : Message(N_("Not an address or network: {{value}}."), ["value": bad.map(String.init).joined(separator: ", ")])
        case .sources:
            let items = v.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
            let bad = items.filter { item in
                if item.hasPrefix("/") { return false }
                guard let u = URL(string: item), let s = u.scheme?.lowercased(), s == "http" || s == "https", u.host?.isEmpty == false else { return true }
                return false
            }
            return bad.isEmpty ? nil : Message(N_("Enter absolute file paths or http(s) URLs: {{value}}."), ["value": bad.joined(separator: ", ")])
        case .zones:
            let zones: [String] = v.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map { String($0) }
            let bad: [String] = zones.filter { (z: String) -> Bool in
                let allowed = z.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || $0 == "." || $0 == "-" }
                return z.count > 253 || z.split(separator: ".").count < 2 || !allowed
            }
            return bad.isEmpty ? nil : Message(N_("Not a DNS zone: {{value}}."), ["value": bad.joined(separator: ", ")])
        case .kinds(let options):
            if v == "none" { return nil }
            let list = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            return list.allSatisfy(options.contains) ? nil : Message(N_("Choose among: {{options}}."), ["options": options.joined(separator: ", ")])
        case .language:
            return languages.contains(v) ? nil : Message(N_("Choose a language we have: {{languages}}."), ["languages": languages.joined(separator: ", ")])
        }
    }

    func normalise(_ field: SettingField, _ v: String) -> String {
        switch field.kind {
        case .bool: return ["true", "on", "1"].contains(v.lowercased()) ? "true" : "false"
        case .integer: return String(Int(v)!)
        case .emails: return v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
        case .ip: return IPAddress(v)!.description
        case .cidrs, .sources, .zones: return v.split(whereSeparator: { $0 == "," || $0.isWhitespace }).joined(separator: ", ")
        case .kinds: return v == "none" ? v : v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ",")
        default: return v
        }
    }

    /// The settings as the API shows them: secrets only say whether they are set.
    public func publicView() -> [String: [String: SettingValue]] {
        var out: [String: [String: SettingValue]] = [:]
        for f in SettingsSchema.fields {
            let name = String(f.key.rawValue.split(separator: ".")[1])
            let v: SettingValue
            switch f.kind {
            case .secret: v = .secret(set: isSet(f.key))
            case .bool: v = .bool(value(f.key) == "true")
            case .integer: v = .int(Int(value(f.key) ?? "") ?? nil)
            default: v = .string(value(f.key))
            }
            out[f.group, default: [:]][name] = v
        }
        return out
    }
}

public enum SettingValue: Encodable, Sendable, Equatable {
    case string(String?)
    case int(Int?)
    case bool(Bool)
    case secret(set: Bool)

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .int(let i): try c.encode(i)
        case .bool(let b): try c.encode(b)
        case .secret(let set): try c.encode(["set": set])
        }
    }
}
