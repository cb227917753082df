import Foundation
import Testing
import Tracking

/// Replays each file of `../shared/real-logs/lightmeter-individual/` and compares the outcomes with
/// `Scenarios/<file>.expected`, written out per scenario and checked by hand against the log.
/// `LIGHTMETER_WRITE_EXPECTED=1 swift test --filter ScenarioTests` rewrites them (then read each diff).
@Suite(.enabled(if: Files.realLogs != nil, "../shared/real-logs is not there"))
struct ScenarioTests {
    static var scenarios: [String] {
        guard let dir = Files.realLogs else { return [] }
        return ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/lightmeter-individual")) ?? []).sorted()
    }

    @Test(arguments: scenarios)
    func scenario(_ name: String) throws {
        var replay = Replay()
        replay.feed(Files.lines(Files.realLogs! + "/lightmeter-individual/" + name))
        let got = replay.outcomes
        let expectedPath = Files.testsDirectory + "/Scenarios/" + name + ".expected"
        if ProcessInfo.processInfo.environment["LIGHTMETER_WRITE_EXPECTED"] == "1" {
            try (got.joined(separator: "\n") + "\n").write(toFile: expectedPath, atomically: true, encoding: .utf8)
            return
        }
        let expected = Files.lines(expectedPath).filter { !$0.isEmpty }
        #expect(got == expected)
    }
}
