import PostfixLog
import Testing

@Suite struct YearTrackerTests {
    func t(_ mo: UInt8, _ d: UInt8, _ h: UInt8 = 12, _ mi: UInt8 = 0) -> LogTime {
        LogTime(month: mo, day: d, hour: h, minute: mi, second: 0)
    }

    @Test func newYearRollsOver() {
        var y = YearTracker(startingYear: 2020)
        let a = y.unixSeconds(for: t(12, 31, 23, 59))
        let b = y.unixSeconds(for: t(1, 1, 0, 1))
        #expect(y.year == 2021)
        #expect(b - a == 120)
    }

    @Test func smallBackwardJumpsAndDSTKeepTheYear() {
        var y = YearTracker(startingYear: 2022)
        _ = y.unixSeconds(for: t(10, 30, 2, 59))
        _ = y.unixSeconds(for: t(10, 30, 2, 1))   // the repeated hour when DST ends
        _ = y.unixSeconds(for: t(10, 29, 23, 0))  // a line out of order
        #expect(y.year == 2022)
    }

    @Test func yearsInStampsAreUsed() {
        var y = YearTracker(startingYear: 1999)
        _ = y.unixSeconds(for: LogTime(year: 2024, month: 3, day: 1, hour: 0, minute: 0, second: 0, utcOffsetMinutes: 0))
        #expect(y.year == 2024)
        let s = y.unixSeconds(for: t(3, 1, 1))
        #expect(s == LogTime(year: 2024, month: 3, day: 1, hour: 1, minute: 0, second: 0).unixSeconds(year: 0))
    }

    @Test func startingYearFromModificationTime() {
        // Modified 2023-01-05: a file starting in December began in 2022; one starting in January in 2023.
        let mtime = LogTime(year: 2023, month: 1, day: 5, hour: 0, minute: 0, second: 0).unixSeconds(year: 0)
        #expect(YearTracker.startingYear(firstLine: t(12, 20), modifiedAt: mtime) == 2022)
        #expect(YearTracker.startingYear(firstLine: t(1, 2), modifiedAt: mtime) == 2023)
    }
}
