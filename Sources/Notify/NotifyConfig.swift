import Foundation
import Insights

/// The notification settings, read from the workspace's settings (the web's schema holds their
/// defaults and checks; this reads them through a lookup that already applies the defaults).
public struct NotifyConfig: Sendable, Equatable {
    public struct Slack: Sendable, Equatable {
        public var token: String
        public var channel: String
        /// `https://slack.com/api`; LIGHTMETER_SLACK_API_URL changes it (a proxy, or a test server).
        public var apiBase: String
    }

    public struct Email: Sendable, Equatable {
        public enum Security: String, Sendable { case starttls, tls, none }
        public var host: String
        public var port: Int
        public var security: Security
        public var username: String?
        public var password: String?
        public var from: String
        public var to: [String]
        public var verifyCertificate: Bool
    }

    public struct Webhook: Sendable, Equatable {
        public var url: String
        public var secret: String?
    }

    public var slack: Slack?
    public var email: Email?
    public var webhook: Webhook?
    /// The kinds of insight that notify.
    public var kinds: Set<String>
    public var language: String
    /// Where links point: the public URL setting, without a trailing slash.
    public var publicURL: String?
    /// More insights than this due at once for a channel go out as one digest.
    public var digestAbove = 3

    public static let channelNames = ["slack", "email", "webhook"]

    public init(slack: Slack? = nil, email: Email? = nil, webhook: Webhook? = nil, kinds: Set<String> = Set(InsightText.notifyByDefault),
                language: String = "en", publicURL: String? = nil) {
        self.slack = slack
        self.email = email
        self.webhook = webhook
        self.kinds = kinds
        self.language = language
        self.publicURL = publicURL
    }

    /// From settings by key (`notifications.slack_token`...), nil when unset (defaults applied).
    public static func load(_ value: (String) -> String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> NotifyConfig {
        var c = NotifyConfig()
        if let token = value("notifications.slack_token"), let channel = value("notifications.slack_channel") {
            let base = environment["LIGHTMETER_SLACK_API_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? "https://slack.com/api"
            c.slack = Slack(token: token, channel: channel, apiBase: base.hasSuffix("/") ? String(base.dropLast()) : base)
        }
        if let host = value("notifications.smtp_host"), let from = value("notifications.smtp_from"),
           let to = value("notifications.smtp_to") {
            let recipients = to.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if !recipients.isEmpty {
                c.email = Email(host: host, port: value("notifications.smtp_port").flatMap { Int($0) } ?? 587,
                                security: value("notifications.smtp_security").flatMap { Email.Security(rawValue: $0) } ?? .starttls,
                                username: value("notifications.smtp_username"), password: value("notifications.smtp_password"),
                                from: from, to: recipients, verifyCertificate: value("notifications.smtp_tls_verify") != "false")
            }
        }
        if let url = value("notifications.webhook_url") {
            c.webhook = Webhook(url: url, secret: value("notifications.webhook_secret"))
        }
        if let kinds = value("notifications.kinds") {
            c.kinds = kinds == "none" ? [] : Set(kinds.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        }
        c.language = value("notifications.language") ?? value("general.language") ?? "en"
        if let u = value("general.public_url") { c.publicURL = u.hasSuffix("/") ? String(u.dropLast()) : u }
        return c
    }

    /// The channels that are set up.
    public var configured: [String] {
        var out: [String] = []
        if slack != nil { out.append("slack") }
        if email != nil { out.append("email") }
        if webhook != nil { out.append("webhook") }
        return out
    }

    /// What identifies a channel's set-up: when it changes, what waits is tried again at once.
    func fingerprint(_ channel: String) -> String {
        switch channel {
        case "slack": return slack.map { "\($0)" } ?? ""
        case "email": return email.map { "\($0)" } ?? ""
        case "webhook": return webhook.map { "\($0)" } ?? ""
        default: return ""
        }
    }
}
