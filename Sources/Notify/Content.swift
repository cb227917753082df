import Foundation
import Insights
import L10n
import Store

/// What one notification says, already in its reader's language: one insight, a digest of several,
/// or a test. Each channel renders it its own way.
public struct NotificationContent: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public var id: Int64?
        public var kind: String
        public var rating: String
        public var category: String
        public var time: Int64
        public var title: String
        public var ratingLabel: String
        public var timeText: String
        public var details: [Detail]
        /// The raw details, for machine readers (the webhook).
        public var values: [String: String]
        public var link: String?
    }

    public struct Detail: Sendable, Equatable {
        public var label: String
        public var value: String
    }

    /// Stable for one outbox delivery, also across its retries: receivers can drop a repeat by it.
    public var deliveryID: String
    public var subject: String
    /// A line before the items: "5 new insights", or the test's explanation.
    public var intro: String?
    public var items: [Item]
    public var isTest: Bool
    public var language: String
    /// "Open Control Center": the insights page, when the public URL is set.
    public var insightsLink: String?
    public var footer: String
    /// The words of a link to an insight.
    public var openText: String

    /// One insight, or a digest of several.
    public static func make(_ insights: [Insight], deliveryID: String, localizer l: Localizer, publicURL: String?,
                            timeZone: TimeZone = .current) -> NotificationContent {
        let items = insights.map { i in
            Item(id: i.id, kind: i.kind, rating: i.rating, category: i.category, time: i.time, title: InsightText.title(i, l),
                 ratingLabel: InsightText.rating(i, l), timeText: l.dateTime(i.time, timeZone: timeZone),
                 details: InsightText.details(i, l, timeZone: timeZone).map { Detail(label: $0.label, value: $0.value) },
                 values: i.detailValues,
                 link: publicURL.flatMap { base in i.id.map { "\(base)/insights?state=all#insight-\($0)" } })
        }
        let subject = items.count == 1 ? items[0].title : l.t("{{count}} new insight", "{{count}} new insights", count: items.count)
        return NotificationContent(deliveryID: deliveryID, subject: subject,
                                   intro: items.count == 1 ? nil : l.t("Control Center found these while you were away:"),
                                   items: items, isTest: false, language: l.language,
                                   insightsLink: publicURL.map { $0 + "/insights" },
                                   footer: l.t("Sent by Control Center, the mail-ops monitor of your Postfix server."),
                                   openText: l.t("Open in Control Center"))
    }

    public static func test(channel: String, localizer l: Localizer, publicURL: String?, now: Int64) -> NotificationContent {
        NotificationContent(deliveryID: "test-\(channel)-\(now)", subject: l.t("Control Center: test notification"),
                            intro: l.t("This is a test notification. Notifications of new insights will look like this one."),
                            items: [], isTest: true, language: l.language, insightsLink: publicURL.map { $0 + "/insights" },
                            footer: l.t("Sent by Control Center, the mail-ops monitor of your Postfix server."),
                            openText: l.t("Open in Control Center"))
    }

    /// The whole text, for plain-text readers.
    public var plainText: String {
        var lines: [String] = []
        if let intro { lines += [intro, ""] }
        for item in items {
            lines.append(items.count == 1 ? "\(item.ratingLabel) · \(item.timeText)" : "\(item.title)\n\(item.ratingLabel) · \(item.timeText)")
            for d in item.details { lines.append("  \(d.label): \(d.value)") }
            if let link = item.link { lines.append("  \(link)") }
            lines.append("")
        }
        if let insightsLink { lines.append(insightsLink) }
        lines += ["--", footer]
        return lines.joined(separator: "\n")
    }
}
