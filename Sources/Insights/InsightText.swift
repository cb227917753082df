import Foundation
import L10n
import Store

/// How an insight reads, in a reader's language: its title, its evidence, its rating and kind. Shared
/// by the web pages and the notifications, so that both say the same thing.
public enum InsightText {
    public static let ratingLabels = ["bad": N_("Needs attention"), "ok": N_("Good news"), "info": N_("For information")]
    public static let detailLabels = ["queue_ids": N_("Queue ID"), "message_id": N_("Message-ID"), "sender": N_("Sender"), "recipient": N_("Recipient"),
                                      "status": N_("Status"), "dsn": "DSN", "reply": N_("Reply"), "attempts": N_("Attempts"), "first_seen": N_("First seen"),
                                      "last_attempt": N_("Last attempt"), "provider": N_("Provider"), "host": N_("Host"), "deliveries": N_("Deliveries"),
                                      "recipient_domain": N_("Recipient domain"), "first": N_("First"), "last": N_("Last"), "bounced": N_("Bounced"),
                                      "outbound": N_("Outbound deliveries"), "rate_percent": N_("Rate (%)"), "threshold_percent": N_("Threshold (%)"),
                                      "from": N_("From"), "to": N_("To"), "hours": N_("Hours"), "since": N_("Since"), "deferred": N_("Deferred"),
                                      "oldest_hours": N_("Oldest (hours)"), "oldest": N_("Oldest"), "insights": N_("Insights"), "rejected": N_("Rejected"),
                                      "sender_domain": N_("Sender domain"),
                                      "failures": N_("Failed logins"), "addresses": N_("Addresses"), "blocked": N_("Blocked"),
                                      "top_address": N_("Most failing address"), "automatic": N_("Automatically"),
                                      "ip": N_("IP address"), "dnsbl": N_("Blocklist"), "codes": N_("Answer")]
    public static let kindLabels = ["detective_escalation": N_("Escalations from the detective"), "high_bounce_rate": N_("High bounce rate"),
                                    "mail_inactivity": N_("Mail inactivity"), "deferred_piling": N_("Deferred mail piling up"),
                                    "blocked_by_remote": N_("Blocked by a remote host"), "import_summary": N_("Import summaries"),
                                    "auth_attack": N_("Login attacks"), "blocked_weekly": N_("Weekly blocklist summaries"),
                                    "dnsbl_listed": N_("Listed on a DNS blocklist"), "dnsbl_delisted": N_("Removed from a DNS blocklist")]
    public static let timeDetails: Set<String> = ["first_seen", "last_attempt", "first", "last", "from", "to", "since", "oldest"]

    /// Titles by kind, filled from the insight's details.
    public static let titles = [
        "detective_escalation": N_("{{sender}} asks why a message to {{recipient}} was not delivered"),
        "high_bounce_rate": N_("High bounce rate: {{rate_percent}}% of outbound mail bounced in the last hours"),
        "high_bounce_rate_domain": N_("High bounce rate: {{rate_percent}}% of outbound mail from {{sender_domain}} bounced in the last hours"),
        "mail_inactivity": N_("No mail sent or received in the last {{hours}} hours"),
        "deferred_piling": N_("{{deferred}} deferred recipients are waiting in the queue, the oldest for {{oldest_hours}} hours"),
        "blocked_by_remote": N_("{{provider}} is blocking mail from this server ({{host}})"),
        "import_summary": N_("Logs imported: {{insights}} insights found in them"),
        "auth_attack": N_("{{failures}} failed logins from {{addresses}} addresses in the last hour"),
        "blocked_weekly": N_("{{blocked}} addresses blocked in the last 7 days"),
        "dnsbl_listed": N_("This server's IP {{ip}} is listed on {{dnsbl}}"),
        "dnsbl_delisted": N_("This server's IP {{ip}} is no longer listed on {{dnsbl}}"),
    ]

    /// The kinds that notify unless the administrator says otherwise: those rated bad, and escalations.
    public static let notifyByDefault = ["detective_escalation", "high_bounce_rate", "mail_inactivity", "deferred_piling", "blocked_by_remote", "auth_attack", "dnsbl_listed"]

    public static func title(_ i: Insight, _ l: Localizer) -> String {
        let d = i.detailValues
        let key = i.kind == "high_bounce_rate" && d["sender_domain"] != nil ? "high_bounce_rate_domain" : i.kind
        return titles[key].map { l.t($0, d) } ?? i.title
    }

    /// The evidence as (label, value) pairs, sorted by key, times formatted; empty values left out.
    public static func details(_ i: Insight, _ l: Localizer, timeZone: TimeZone = .current) -> [(label: String, value: String)] {
        i.detailValues.sorted { $0.key < $1.key }.compactMap { k, v in
            guard !v.isEmpty else { return nil }
            let value = timeDetails.contains(k) ? Int64(v).map { l.dateTime($0, timeZone: timeZone) } ?? v : v
            return (l.t(detailLabels[k] ?? k), value)
        }
    }

    public static func rating(_ i: Insight, _ l: Localizer) -> String { l.t(ratingLabels[i.rating] ?? i.rating) }
    public static func kind(_ kind: String, _ l: Localizer) -> String { l.t(kindLabels[kind] ?? kind) }
}
