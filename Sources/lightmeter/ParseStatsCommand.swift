import ArgumentParser
import Ingest
import PostfixLog

/// `lightmeter parse-stats FILE...`: what the logs hold and what the parser does not understand yet.
struct ParseStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lightmeter parse-stats",
        abstract: "Count the lines of log files per process and per kind, with examples of unsupported shapes.",
        discussion: "gzip and bzip2 files are read transparently; '-' reads standard input."
    )

    @Option(name: [.customLong("log_format", withSingleDash: true)],
            help: "Line format: default, rfc3339, prepend-rfc3339, logstash (env: LIGHTMETER_LOG_FORMAT).")
    var logFormat: String?

    @Flag(name: [.customLong("json"), .customLong("json", withSingleDash: true)], help: "Print one JSON object.")
    var json = false

    @Option(name: [.customLong("examples", withSingleDash: true)], help: "Examples to print per unsupported shape.")
    var examples = 5

    @Flag(name: [.customLong("each"), .customLong("each", withSingleDash: true)],
          help: "Print every line's kind before its text instead of the summary.")
    var each = false

    @Argument(help: "Log files ('-' for standard input).")
    var files: [String] = []

    func validate() throws {
        if files.isEmpty { throw ValidationError("name at least one file, or '-' for standard input") }
        _ = try resolvedFormat()
    }

    func resolvedFormat() throws -> LogFormat {
        let name = logFormat ?? Environment.current.string("LIGHTMETER_LOG_FORMAT") ?? "default"
        guard let f = LogFormat(rawValue: name) else {
            throw ValidationError("unknown log format '\(name)': use default, rfc3339, prepend-rfc3339 or logstash")
        }
        return f
    }

    func run() throws {
        let format = try resolvedFormat()
        // Every header form is recognised line by line; logstash lines are JSON to decode first.
        let parser = Parser(format: .auto)
        var stats = PostfixLog.ParseStats()
        stats.examplesPerShape = max(0, examples)
        var damaged: [String] = []
        var failed = false
        for path in files {
            let reader = LogFileReader(path: path)
            do {
                let summary = try reader.forEachLine { line, truncated in
                    if format == .logstash {
                        if let inner = Logstash.line(from: line) {
                            inner.withUnsafeBufferPointer { stats.add(parser.parse($0), line: $0, truncated: truncated) }
                            return
                        }
                    }
                    let record = parser.parse(line)
                    if each { print("\(record.kind)\t\(line.string(Span(start: 0, count: line.count)))") }
                    stats.add(record, line: line, truncated: truncated)
                }
                if let d = summary.damage { damaged.append(d.description) }
            } catch {
                printError("lightmeter: \(error)")
                failed = true
            }
        }
        if each {
        } else if json {
            print(jsonReport(stats, damaged: damaged))
        } else {
            print(textReport(stats, damaged: damaged))
        }
        if failed { throw ExitCode(1) }
    }

    func textReport(_ s: PostfixLog.ParseStats, damaged: [String]) -> String {
        var out = ""
        func pct(_ a: Int, _ b: Int) -> String { b == 0 ? "0.00%" : String(format2(100 * Double(a) / Double(b))) + "%" }
        out += "lines:                \(s.lines)\n"
        out += "unsupported:          \(s.unsupported) (\(pct(s.unsupported, s.lines)))\n"
        out += "postfix lines:        \(s.postfixLines)\n"
        out += "postfix unsupported:  \(s.postfixUnsupported) (\(pct(s.postfixUnsupported, s.postfixLines)))\n"
        if s.truncatedLines > 0 { out += "lines cut at 64 KiB:  \(s.truncatedLines)\n" }
        for d in damaged { out += "damaged:              \(d)\n" }
        out += "\nby process:\n"
        for (k, v) in s.byDaemon.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
            out += "  \(k.padding(30)) \(v)\n"
        }
        out += "\nby kind:\n"
        for (k, v) in s.byKind.sorted(by: { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }) {
            out += "  \(k.padding(30)) \(v)\n"
        }
        if !s.unsupportedShapes.isEmpty {
            out += "\nunsupported shapes:\n"
            for (shape, e) in s.unsupportedShapes.sorted(by: { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }) {
                out += "  \(e.count)  \(shape)\n"
                for ex in e.examples { out += "      \(ex)\n" }
            }
        }
        return out
    }

    func jsonReport(_ s: PostfixLog.ParseStats, damaged: [String]) -> String {
        let o = JSONWriter()
        o.object {
            o.key("lines", s.lines)
            o.key("unsupported", s.unsupported)
            o.key("postfix_lines", s.postfixLines)
            o.key("postfix_unsupported", s.postfixUnsupported)
            o.key("postfix_coverage", s.postfixCoverage)
            o.key("truncated_lines", s.truncatedLines)
            o.key("by_process") { o.dictionary(s.byDaemon) }
            o.key("by_kind") { o.dictionary(s.byKind) }
            o.key("damaged") { o.array(damaged) }
            o.key("unsupported_shapes") {
                o.arrayOf(s.unsupportedShapes.sorted(by: { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key })) { item in
                    o.object {
                        o.key("shape", item.key)
                        o.key("count", item.value.count)
                        o.key("examples") { o.array(item.value.examples) }
                    }
                }
            }
        }
        return o.text
    }
}

func format2(_ v: Double) -> String {
    let scaled = (v * 100).rounded()
    let whole = Int(scaled) / 100
    let frac = abs(Int(scaled)) % 100
    return "\(whole).\(frac < 10 ? "0" : "")\(frac)"
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
