import Benchmark
import PostfixLog
import Tracking

#if canImport(Glibc)
import Glibc
#endif

/// The input: `gen-postfix-log --lines 1000000 --seed 1`, at $LIGHTMETER_BENCH_LOG
/// (default /tmp/lightmeter-bench/1m.log; `scripts/bench-data` writes it).
let logPath = getenv("LIGHTMETER_BENCH_LOG").map { String(cString: $0) } ?? "/tmp/lightmeter-bench/1m.log"

/// The whole file in memory and the offsets of its lines, so that only parsing is measured.
struct Corpus {
    let bytes: UnsafeMutableBufferPointer<UInt8>
    let lines: [(Int, Int)]

    static func load(_ path: String) -> Corpus {
        guard let f = fopen(path, "r") else { fatalError("cannot open \(path): run scripts/bench-data first") }
        defer { fclose(f) }
        fseek(f, 0, SEEK_END)
        let size = ftell(f)
        fseek(f, 0, SEEK_SET)
        let buf = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: size)
        _ = fread(buf.baseAddress, 1, size, f)
        var lines: [(Int, Int)] = []
        lines.reserveCapacity(size / 100)
        var start = 0
        for i in 0..<size where buf[i] == 0x0A {
            lines.append((start, i - start))
            start = i + 1
        }
        return Corpus(bytes: buf, lines: lines)
    }
}

nonisolated(unsafe) var corpus: Corpus? = nil

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal, .instructions],
        timeUnits: .milliseconds,
        maxDuration: .seconds(30),
        maxIterations: 5
    )

    Benchmark("parse 1M generated lines") { benchmark in
        if corpus == nil { corpus = Corpus.load(logPath) }
        let c = corpus!
        let parser = Parser()
        let base = UnsafeBufferPointer(c.bytes)
        var unsupported = 0
        benchmark.startMeasurement()
        for (start, count) in c.lines {
            let r = parser.parse(UnsafeBufferPointer(rebasing: base[start..<(start + count)]))
            if case .unsupported = r.payload { unsupported += 1 }
        }
        benchmark.stopMeasurement()
        blackHole(unsupported)
    }

    /// What the import's reading thread does but read and compress: parse, track, and drain the
    /// tracker every 20,000 lines (the import's batches).
    Benchmark("parse and track 1M generated lines") { benchmark in
        if corpus == nil { corpus = Corpus.load(logPath) }
        let c = corpus!
        let parser = Parser()
        let base = UnsafeBufferPointer(c.bytes)
        var tracker = Tracker()
        var years = YearTracker(startingYear: 2026)
        var written = 0
        benchmark.startMeasurement()
        for (i, (start, count)) in c.lines.enumerated() {
            let line = UnsafeBufferPointer(rebasing: base[start..<(start + count)])
            let r = parser.parse(line)
            tracker.process(r, line: line, time: years.unixSeconds(for: r.header.time))
            if i % 20_000 == 19_999 { written += tracker.drain().messages.count }
        }
        written += tracker.drain().messages.count
        benchmark.stopMeasurement()
        blackHole(written)
    }
}
