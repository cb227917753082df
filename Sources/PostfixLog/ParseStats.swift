/// Counts what a stream of lines holds: lines per process and per kind, and examples of the shapes
/// the parser does not know. Used by `lightmeter parse-stats` and the coverage tests.
public struct ParseStats: Sendable {
    public private(set) var lines = 0
    public private(set) var unsupported = 0
    public private(set) var postfixLines = 0
    public private(set) var postfixUnsupported = 0
    public private(set) var truncatedLines = 0
    public private(set) var byProcess: [String: Int] = [:]
    public private(set) var byKind: [String: Int] = [:]
    /// Unsupported shapes: shape -> (count, up to `examplesPerShape` example lines).
    public private(set) var unsupportedShapes: [String: (count: Int, examples: [String])] = [:]
    public var examplesPerShape = 5
    public var maxShapes = 500

    private var daemonCounts = [Int](repeating: 0, count: Daemon.allCases.count)
    private var kindCache: [String: Int] = [:]

    public init() {}

    public mutating func add(_ record: Record, line: UnsafeBufferPointer<UInt8>, truncated: Bool = false) {
        lines += 1
        if truncated { truncatedLines += 1 }
        let daemon = record.header.process.daemon
        let idx = Daemon.allCases.firstIndex(of: daemon)!
        daemonCounts[idx] += 1
        let isPostfix = record.isPostfix && !record.header.process.name.isEmpty
        if isPostfix { postfixLines += 1 }
        byKind[record.kind, default: 0] += 1
        if record.isUnsupported {
            unsupported += 1
            if isPostfix { postfixUnsupported += 1 }
            let shape = Self.shape(of: record, line: line)
            if var entry = unsupportedShapes[shape] {
                entry.count += 1
                if entry.examples.count < examplesPerShape { entry.examples.append(line.string(Span(start: 0, count: line.count))) }
                unsupportedShapes[shape] = entry
            } else if unsupportedShapes.count < maxShapes {
                unsupportedShapes[shape] = (1, [line.string(Span(start: 0, count: line.count))])
            }
        }
    }

    /// Per-process counts by daemon name (`smtpd`, `qmgr`, ..., `other`).
    public var byDaemon: [String: Int] {
        var d: [String: Int] = [:]
        for (i, n) in daemonCounts.enumerated() where n > 0 { d[Daemon.allCases[i].rawValue] = n }
        return d
    }

    public var postfixCoverage: Double {
        postfixLines == 0 ? 1 : Double(postfixLines - postfixUnsupported) / Double(postfixLines)
    }

    public mutating func merge(_ o: ParseStats) {
        lines += o.lines
        unsupported += o.unsupported
        postfixLines += o.postfixLines
        postfixUnsupported += o.postfixUnsupported
        truncatedLines += o.truncatedLines
        for i in daemonCounts.indices { daemonCounts[i] += o.daemonCounts[i] }
        for (k, v) in o.byKind { byKind[k, default: 0] += v }
        for (k, v) in o.unsupportedShapes {
            if var e = unsupportedShapes[k] {
                e.count += v.count
                e.examples = Array((e.examples + v.examples).prefix(examplesPerShape))
                unsupportedShapes[k] = e
            } else if unsupportedShapes.count < maxShapes {
                unsupportedShapes[k] = v
            }
        }
    }

    /// The daemon and the first words of the message, with numbers, queue ids, addresses and
    /// bracketed values folded, so that lines of one shape group together.
    static func shape(of record: Record, line: UnsafeBufferPointer<UInt8>) -> String {
        let daemon = record.header.process.daemon
        let m = record.header.message.range.clamped(to: 0..<line.count)
        var out: [UInt8] = Array((daemon == .other ? "?" : daemon.rawValue).utf8) + [0x3A, 0x20]
        var words = 0
        var i = m.lowerBound
        var lastWasDigit = false
        while i < m.upperBound && words < 5 {
            let b = line[i]
            switch b {
            case UInt8(ascii: "<"), UInt8(ascii: "["), UInt8(ascii: "("):
                let close: UInt8 = b == UInt8(ascii: "<") ? UInt8(ascii: ">") : b == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: ")")
                var j = i + 1
                while j < m.upperBound && line[j] != close { j += 1 }
                out.append(b); out.append(close)
                i = j + 1
                lastWasDigit = false
                continue
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                if !lastWasDigit { out.append(UInt8(ascii: "N")) }
                lastWasDigit = true
                i += 1
                continue
            case UInt8(ascii: " "):
                words += 1
            default:
                break
            }
            lastWasDigit = false
            out.append(b)
            i += 1
        }
        // Fold hex queue ids such as `NBNFNCNB`.
        return String(decoding: out, as: UTF8.self)
    }
}
