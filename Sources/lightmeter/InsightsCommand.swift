import ArgumentParser
import Foundation
import Store

/// `lightmeter insights`: what the administrator should know, as the Insights page lists it.
struct InsightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lightmeter insights",
        abstract: "List the insights of a period (active and archived), newest first."
    )

    @OptionGroup var period: PeriodOptions

    @Flag(name: [.customLong("json"), .customLong("json", withSingleDash: true)], help: "One JSON object a line: time (RFC 3339), kind, category, rating, title, details, active.")
    var json = false

    func run() throws {
        let db = try period.open()
        var f = InsightFilter()
        (f.from, f.to) = period.bounds
        f.limit = 100_000
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        struct Line: Encodable {
            var time: String; var kind: String; var category: String; var rating: String; var title: String
            var details: [String: String]; var active: Bool; var useful: Bool?
        }
        for i in try db.insights(f) {
            if json {
                print(String(decoding: try e.encode(Line(time: rfc3339(i.time), kind: i.kind, category: i.category, rating: i.rating,
                                                         title: i.title, details: i.detailValues, active: i.active, useful: i.useful)), as: UTF8.self))
            } else {
                print("\(rfc3339(i.time))  \(i.rating)  \(i.kind)\(i.active ? "" : " (archived)")  \(i.title)")
                for (k, v) in i.detailValues.sorted(by: { $0.key < $1.key }) where !v.isEmpty { print("    \(k): \(v)") }
            }
        }
    }
}
