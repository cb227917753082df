import ArgumentParser
import Foundation
import Store

/// `lightmeter report`: a pflogsumm-style summary, counted right.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lightmeter report",
        abstract: "Summarise a period: outcomes, bounce and deferral reasons, top senders, recipients and domains, rejections, volume per hour.",
        discussion: """
            Unlike pflogsumm, a message that passes through a content filter counts once, and the \
            notifications the server generated are counted apart from user messages.
            """
    )

    @OptionGroup var period: PeriodOptions

    @Option(name: .customLong("top", withSingleDash: true), help: "Rows in each top list (default 10).")
    var top = 10

    @Flag(name: [.customLong("json"), .customLong("json", withSingleDash: true)], help: "Print one JSON object.")
    var json = false

    func validate() throws {
        if top < 1 { throw ValidationError("-top must be at least 1") }
    }

    func run() throws {
        let db = try period.open()
        let (lo, hi) = period.bounds
        let r = try db.report(from: lo, to: hi, top: top)
        print(json ? jsonReport(r) : textReport(r), terminator: "")
    }

    func textReport(_ r: Report) -> String {
        var s = "Messages\n"
        s += "  received or submitted  \(r.messages)  (\(r.bytesReceived) bytes)\n"
        s += "  notifications sent     \(r.notifications)\n"
        s += "  rejected               \(r.rejections)\n\n"
        s += "Recipients by outcome\n"
        for c in r.byStatus { s += "  \(c.key.padding(22)) \(c.count)\n" }
        s += "  \("returned to sender".padding(22)) \(r.returned)\n"
        s += "  \("deferred at least once".padding(22)) \(r.deferredRecipients) (\(r.deferredAttempts) deferrals)\n\n"
        s += "Recipients by direction\n"
        for c in r.byDirection { s += "  \(c.key.padding(22)) \(c.count)\n" }
        func list(_ title: String, _ items: [Report.Count]) {
            s += "\n\(title)\n"
            if items.isEmpty { s += "  none\n" }
            for c in items { s += "  \(String(c.count).padding(8)) \(c.key)\n" }
        }
        func reasons(_ title: String, _ items: [Report.Reason]) {
            s += "\n\(title)\n"
            if items.isEmpty { s += "  none\n" }
            for c in items { s += "  \(String(c.count).padding(8)) \(c.dsn.padding(8)) \(c.domain.padding(28)) \(String(c.reason.prefix(90)))\n" }
        }
        list("Top senders", r.topSenders)
        list("Top recipients", r.topRecipients)
        list("Top recipient domains", r.topDomains)
        reasons("Bounces and expiries by DSN and domain", r.bounceReasons)
        reasons("Deferrals by DSN and domain", r.deferralReasons)
        list("Rejections by reason", r.rejectionReasons)
        list("Messages per hour (UTC)", r.perHour)
        return s
    }

    func jsonReport(_ r: Report) -> String {
        let o = JSONWriter()
        func counts(_ name: String, _ items: [Report.Count]) {
            o.key(name) { o.arrayOf(items) { c in o.object { o.key("key", c.key); o.key("count", c.count) } } }
        }
        func reasons(_ name: String, _ items: [Report.Reason]) {
            o.key(name) {
                o.arrayOf(items) { c in
                    o.object { o.key("dsn", c.dsn); o.key("domain", c.domain); o.key("reason", c.reason); o.key("count", c.count) }
                }
            }
        }
        o.object {
            o.key("messages", r.messages)
            o.key("bytes_received", r.bytesReceived)
            o.key("notifications", r.notifications)
            o.key("rejections", r.rejections)
            o.key("returned", r.returned)
            o.key("deferred_recipients", r.deferredRecipients)
            o.key("deferred_attempts", r.deferredAttempts)
            o.key("by_status") { o.dictionary(Dictionary(uniqueKeysWithValues: r.byStatus.map { ($0.key, $0.count) })) }
            o.key("by_direction") { o.dictionary(Dictionary(uniqueKeysWithValues: r.byDirection.map { ($0.key, $0.count) })) }
            counts("top_senders", r.topSenders)
            counts("top_recipients", r.topRecipients)
            counts("top_domains", r.topDomains)
            reasons("bounce_reasons", r.bounceReasons)
            reasons("deferral_reasons", r.deferralReasons)
            counts("rejection_reasons", r.rejectionReasons)
            counts("per_hour", r.perHour)
        }
        return o.text + "\n"
    }
}

/// The database of a workspace that must exist already (the tools do not create one).
func openExistingWorkspace(_ given: String?) throws -> AppDatabase {
    let ws = given ?? Environment.current.string("LIGHTMETER_WORKSPACE") ?? "/var/lib/lightmeter_workspace"
    guard FileManager.default.fileExists(atPath: ws + "/lightmeter.db") else {
        throw ValidationFailure(cli.t("no database in the workspace {{workspace}}: import logs first", ["workspace": ws]))
    }
    return try AppDatabase.open(workspace: ws)
}
