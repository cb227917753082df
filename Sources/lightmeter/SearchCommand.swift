import ArgumentParser
import Foundation
import Store

/// `lightmeter search`: the message detective from the command line, the same results as the API.
struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lightmeter search",
        abstract: "Find messages by sender, recipient, time, status, queue id or Message-ID, with every attempt.",
        discussion: """
            Addresses may be partial: a domain (@example.com) or part of an address. Newest first, 50 a page. \
            The same results as GET /api/v0/search (with tz=UTC).
            """
    )

    @OptionGroup var period: PeriodOptions

    @Option(name: .customLong("sender", withSingleDash: true), help: "Sender address, or part of it.")
    var sender: String?

    @Option(name: .customLong("recipient", withSingleDash: true), help: "Recipient address (or the address before alias expansion), or part of it.")
    var recipient: String?

    @Option(name: .customLong("queue_id", withSingleDash: true), help: "A queue id of the message.")
    var queueID: String?

    @Option(name: .customLong("message_id", withSingleDash: true), help: "The Message-ID header.")
    var messageID: String?

    @Option(name: .customLong("status", withSingleDash: true), help: "sent, bounced, deferred, expired, returned, received or rejected.")
    var status: String?

    @Option(name: .customLong("page", withSingleDash: true), help: "Page of 50 (default 1).")
    var page = 1

    @Flag(name: [.customLong("json"), .customLong("json", withSingleDash: true)], help: "JSON, as the API answers.")
    var json = false

    func validate() throws {
        if let s = status, SearchStatus(rawValue: s) == nil {
            throw ValidationError("-status must be one of \(SearchStatus.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard page >= 1 else { throw ValidationError("-page starts at 1") }
    }

    func run() throws {
        let db = try period.open()
        var q = SearchQuery()
        q.sender = sender
        q.recipient = recipient
        q.queueID = queueID
        q.messageID = messageID
        q.status = status.flatMap(SearchStatus.init(rawValue:))
        q.partial = true
        (q.from, q.to) = period.bounds
        q.offset = (page - 1) * q.limit
        let result = try db.search(q)
        if json {
            let e = JSONEncoder()
            e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try e.encode(result), as: UTF8.self))
            return
        }
        for m in result.messages {
            print("\(rfc3339(m.firstSeen))  \(m.queueIDs.joined(separator: " -> "))  \(m.messageID.map { "<\($0)>" } ?? "-")  from <\(m.sender ?? "")>")
            for r in m.recipients {
                var line = "    \(r.status)\(r.returned ? " (returned to sender)" : "")  \(r.recipient)"
                if let o = r.origRecipient { line += " (sent to \(o))" }
                line += "  attempts \(r.attempts)"
                if let d = r.dsn { line += "  \(d)" }
                if let relay = r.relay { line += "  \(relay)" }
                print(line)
                if let reason = r.reason { print("        \(reason)") }
            }
        }
        for r in result.rejections {
            print("\(rfc3339(r.time))  rejected  from <\(r.sender ?? "")> to <\(r.recipient ?? "")>  \(r.clientHost ?? "")[\(r.clientIP ?? "")]")
            print("        \([r.code.map(String.init), r.dsn].compactMap { $0 }.joined(separator: " ")) \(r.reason)")
        }
        if result.messages.isEmpty && result.rejections.isEmpty { printError("lightmeter: " + cli.t("no message matches")) }
        if result.hasMore { printError("lightmeter: " + cli.t("more results: -page {{page}}", ["page": String(page + 1)])) }
    }
}
