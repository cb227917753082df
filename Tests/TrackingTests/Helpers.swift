import Foundation
import PostfixLog
import Testing
import Tracking

/// Runs the tracker over lines and keeps the last snapshot of every message, as the store would.
struct Replay {
    var tracker = Tracker()
    var years = YearTracker(startingYear: 2020)
    var messages: [Int64: MessageState] = [:]
    var rejections: [Rejection] = []
    var authEvents: [AuthEvent] = []
    let parser = Parser()

    mutating func feed(_ lines: [String]) {
        for l in lines where !l.hasPrefix("#") && !l.isEmpty {
            var bytes = Array(l.utf8)
            bytes.withUnsafeMutableBufferPointer { b in
                let buf = UnsafeBufferPointer(b)
                let r = parser.parse(buf)
                let t = years.unixSeconds(for: r.header.time)
                tracker.process(r, line: buf, time: t)
            }
        }
        collect()
    }

    mutating func collect() {
        let out = tracker.drain()
        for (child, _) in out.merged { messages.removeValue(forKey: child) }
        for m in out.messages { messages[m.id] = m }
        rejections += out.rejections
        authEvents += out.authEvents
    }

    /// One line per (user message, recipient) outcome and per rejection, in a stable order.
    var outcomes: [String] {
        var rows: [String] = []
        for m in messages.values.sorted(by: { $0.id < $1.id }) where m.origin != .notification {
            for r in m.recipients where r.outcome != .pending {
                var row = "\(m.queueIDs.joined(separator: ";")) <\(m.messageID ?? "?")> from=<\(m.sender ?? "?")> to=<\(r.recipient)>"
                if let o = r.origRecipient { row += " orig_to=<\(o)>" }
                row += " \(r.outcome.rawValue) attempts=\(r.attempts) returned=\(r.returned) \(m.direction(of: r).rawValue)"
                if !m.complete { row += " in-flight" }
                rows.append(row)
            }
        }
        for r in rejections {
            rows.append("rejected \(r.daemon) \(r.stage) client=\(r.clientIP ?? "") from=<\(r.sender ?? "")> to=<\(r.recipient ?? "")> \(r.code.map(String.init) ?? "") \(r.reason)")
        }
        return rows
    }
}

enum Files {
    static var testsDirectory: String {
        String(#filePath[..<#filePath.lastIndex(of: "/")!])
    }

    static var realLogs: String? {
        let d = testsDirectory + "/../../../shared/real-logs"
        return FileManager.default.fileExists(atPath: d + "/README.md") ? d : nil
    }

    static func lines(_ path: String) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }
}
