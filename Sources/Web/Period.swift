import Foundation
import Hummingbird

/// The dates of a dashboard request: `from` and `to` (YYYY-MM-DD, inclusive) in the server's time zone
/// or `tz` (an IANA name: Europe/Berlin, UTC). Without dates: the last 7 days, today included.
struct Period: Sendable {
    var from: Int64
    var to: Int64
    var fromDay: String
    var toDay: String
    var timeZone: TimeZone

    static func parse(_ query: [String: String]?, now: Date = Date(), defaultDays: Int = 7) throws -> Period {
        var tz = TimeZone.current
        if let name = query?["tz"], !name.isEmpty {
            guard let t = TimeZone(identifier: name) else { throw HTTPError(.badRequest, message: "unknown time zone '\(name)'") }
            tz = t
        }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = tz
        func day(_ key: String) throws -> DateComponents? {
            guard let raw = query?[key], !raw.isEmpty else { return nil }
            let p = raw.split(separator: "-")
            guard p.count == 3, let y = Int(p[0]), let m = Int(p[1]), let d = Int(p[2]), (1970...9999).contains(y),
                  (1...12).contains(m), (1...31).contains(d) else {
                throw HTTPError(.badRequest, message: "\(key) must be a date as YYYY-MM-DD")
            }
            let c = DateComponents(year: y, month: m, day: d)
            // No 30 February: the date must come back as it went in.
            guard let date = cal.date(from: c), cal.dateComponents([.year, .month, .day], from: date) == c else {
                throw HTTPError(.badRequest, message: "\(key) is not a date: \(raw)")
            }
            return c
        }
        let today = cal.dateComponents([.year, .month, .day], from: now)
        let toC = try day("to") ?? today
        guard let toStart = cal.date(from: toC) else { throw HTTPError(.badRequest, message: "to is not a date") }
        let fromStart: Date
        if let f = try day("from") {
            guard let d = cal.date(from: f) else { throw HTTPError(.badRequest, message: "from is not a date") }
            fromStart = d
        } else {
            fromStart = cal.date(byAdding: .day, value: -(defaultDays - 1), to: toStart)!
        }
        guard fromStart <= toStart else { throw HTTPError(.badRequest, message: "from must not be after to") }
        let end = cal.date(byAdding: .day, value: 1, to: toStart)!
        guard end.timeIntervalSince(fromStart) <= 3700 * 86400 else { throw HTTPError(.badRequest, message: "the period is longer than ten years") }
        let f = dayFormatter(tz)
        return Period(from: Int64(fromStart.timeIntervalSince1970), to: Int64(end.timeIntervalSince1970),
                      fromDay: f.string(from: fromStart), toDay: f.string(from: toStart), timeZone: tz)
    }

    var days: Int { Int((to - from + 43200) / 86400) }

    /// The query string that names this period.
    var query: String {
        "from=\(fromDay)&to=\(toDay)&tz=" + (timeZone.identifier.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "_-"))) ?? "UTC")
    }
}

extension Request {
    /// The query's parameters (the last of a repeated name wins).
    var query: [String: String] {
        var out: [String: String] = [:]
        for (k, v) in uri.queryParameters { out[String(k)] = String(v) }
        return out
    }
}

/// Dates as the API writes them, in a time zone: "2026-11-25" (or another pattern).
func dayFormatter(_ tz: TimeZone, _ pattern: String = "yyyy-MM-dd") -> DateFormatter {
    var cal = Calendar(identifier: .gregorian)
    cal.timeZone = tz
    let f = DateFormatter()
    f.calendar = cal
    f.timeZone = tz
    f.locale = Locale(identifier: "en_US_POSIX")
    f.dateFormat = pattern
    return f
}
