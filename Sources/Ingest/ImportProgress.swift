#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation

/// How far an import is: shared by the importer (which updates it), the progress display and the API.
public final class ImportProgress: @unchecked Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var filesTotal = 0
        public var filesDone = 0
        /// Bytes to read (0 when unknown, as for a pipe).
        public var bytesTotal: Int64 = 0
        public var bytesRead: Int64 = 0
        public var lines: Int64 = 0
        public var seconds: Double = 0
        public var finished = false

        public var linesPerSecond: Double { seconds > 0 ? Double(lines) / seconds : 0 }
        public var fraction: Double? { bytesTotal > 0 ? min(1, Double(bytesRead) / Double(bytesTotal)) : nil }
        public var etaSeconds: Double? {
            guard let f = fraction, f > 0.01, !finished else { return nil }
            return seconds * (1 - f) / f
        }
    }

    private let lock = NSLock()
    private var state = Snapshot()
    private let start = Date()

    public init() {}

    public var snapshot: Snapshot {
        lock.withLock {
            var s = state
            s.seconds = Date().timeIntervalSince(start)
            return s
        }
    }

    public func update(_ change: (inout Snapshot) -> Void) {
        lock.withLock { change(&state) }
    }
}

/// Shows an import's progress on standard error: a bar redrawn in place on a terminal, a plain line
/// every 10 seconds otherwise.
public final class ProgressDisplay: @unchecked Sendable {
    let progress: ImportProgress
    let isTerminal: Bool
    /// Signalled by `stop`: the display thread wakes at once instead of finishing its sleep.
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private var started = false

    public init(progress: ImportProgress, isTerminal: Bool = isatty(2) != 0) {
        self.progress = progress
        self.isTerminal = isTerminal
    }

    public func start() {
        started = true
        let t = Thread { [self] in
            defer { finished.signal() }
            var lastPlain = Date()
            let interval = isTerminal ? 0.2 : 1
            while wake.wait(timeout: .now() + interval) == .timedOut {
                let s = progress.snapshot
                if isTerminal {
                    write("\r\u{1B}[K" + Self.render(s, width: 30))
                } else if Date().timeIntervalSince(lastPlain) >= 10 {
                    write("lightmeter: " + Self.render(s, width: 0) + "\n")
                    lastPlain = Date()
                }
            }
        }
        t.start()
    }

    /// Stops the display and waits for its thread (at once: it does not wait for the next redraw).
    public func stop() {
        guard started else { return }
        started = false
        wake.signal()
        finished.wait()
        if isTerminal { write("\r\u{1B}[K") }
    }

    private func write(_ s: String) {
        var bytes = Array(s.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    /// `[=========>          ] 45%  3/10 files  123.4/300.0 MB  250k lines/s  ETA 12 s`
    public static func render(_ s: ImportProgress.Snapshot, width: Int) -> String {
        var parts: [String] = []
        if let f = s.fraction {
            if width > 0 {
                let filled = Int(f * Double(width))
                parts.append("[" + String(repeating: "=", count: filled) + (filled < width ? ">" : "")
                             + String(repeating: " ", count: max(0, width - filled - 1)) + "]")
            }
            parts.append("\(Int(f * 100))%")
        }
        if s.filesTotal > 0 { parts.append("\(s.filesDone)/\(s.filesTotal) files") }
        let mb = { (b: Int64) in String(format: "%.1f", Double(b) / 1_000_000) }
        parts.append(s.bytesTotal > 0 ? "\(mb(s.bytesRead))/\(mb(s.bytesTotal)) MB" : "\(mb(s.bytesRead)) MB")
        parts.append("\(s.lines) lines")
        parts.append("\(Int(s.linesPerSecond / 1000))k lines/s")
        if let eta = s.etaSeconds { parts.append("ETA \(Int(eta.rounded())) s") }
        return parts.joined(separator: "  ")
    }
}
