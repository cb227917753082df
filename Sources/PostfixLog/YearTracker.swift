/// Gives year-less syslog stamps a year, line after line of one stream.
///
/// - A stamp that goes back by more than `rolloverThreshold` from a late-year month to an early one
///   (Dec 31 -> Jan 1) starts a new year.
/// - Smaller backward jumps (lines written out of order, the hour repeated when daylight saving time
///   ends) keep the year.
/// - Stamps that carry a year (RFC 3339) are used as they are and set the current year.
public struct YearTracker: Sendable {
    public private(set) var year: Int
    private var last: Int64? = nil
    private var lastMonth: UInt8 = 0

    /// How far back a year-less stamp may go before it is taken as the next year.
    public var rolloverThreshold: Int64 = 30 * 86400

    public init(startingYear: Int) {
        year = startingYear
    }

    /// Seconds since the Unix epoch (UTC) of a stamp in this stream.
    public mutating func unixSeconds(for t: LogTime) -> Int64 {
        guard t.isKnown else { return last ?? 0 }
        if t.year != 0 {
            year = Int(t.year)
            let s = t.unixSeconds(year: year)
            last = s
            lastMonth = t.month
            return s
        }
        var s = t.unixSeconds(year: year)
        if let l = last, s < l - rolloverThreshold, lastMonth >= 10, t.month <= 3 {
            year += 1
            s = t.unixSeconds(year: year)
        }
        last = max(last ?? s, s)
        lastMonth = t.month
        return s
    }

    /// The year of a file's first line, guessed from the file's modification time: the file's lines
    /// were written before it, so a first line in a later month than the modification belongs to
    /// the year before.
    public static func startingYear(firstLine: LogTime, modifiedAt unix: Int64) -> Int {
        let m = LogTime(fromUnix: unix)
        if firstLine.year != 0 { return Int(firstLine.year) }
        guard firstLine.isKnown else { return Int(m.year) }
        if firstLine.month > m.month || firstLine.month == m.month && firstLine.day > m.day + 1 {
            return Int(m.year) - 1
        }
        return Int(m.year)
    }
}
