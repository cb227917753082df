#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PostfixLog
import Store
import Tracking

/// What an import did.
public struct ImportSummary: Sendable {
    public var lines: Int64 = 0
    /// Lines already imported by an earlier run, skipped.
    public var skipped: Int64 = 0
    /// Lines two watched files both hold (mail.log and mail.warn), counted once.
    public var duplicates: Int64 = 0
    public var unsupported: Int64 = 0
    public var postfixLines: Int64 = 0
    public var postfixUnsupported: Int64 = 0
    public var truncatedLines: Int64 = 0
    public var rejections: Int64 = 0
    public var messagesWritten: Int64 = 0
    public var damage: [String] = []
    public var seconds: Double = 0
    /// Time spent building the search indexes at the end of a bulk load (part of `seconds`).
    public var indexSeconds: Double = 0

    /// Counts a parsed line: unknown shapes, Postfix lines, Postfix lines not understood.
    @inline(__always)
    mutating func count(_ record: Record) {
        // `isUnsupported` is stored in the record: the payload's case would be read from a copy of it.
        if record.isUnsupported {
            unsupported += 1
            if record.isPostfix {
                postfixLines += 1
                postfixUnsupported += 1
            }
        } else if record.isPostfix {
            postfixLines += 1
        }
    }

    public var description: String {
        var s = "imported \(lines - skipped - duplicates) lines"
        if skipped > 0 { s += " (\(skipped) already imported, skipped)" }
        if duplicates > 0 { s += " (\(duplicates) lines found in two files counted once)" }
        s += " in \(format1(seconds)) s: \(postfixUnsupported) of \(postfixLines) postfix lines not understood"
        s += ", \(unsupported) lines of unknown shape kept"
        if truncatedLines > 0 { s += ", \(truncatedLines) lines cut at 64 KiB" }
        s += ", \(rejections) rejections"
        if indexSeconds > 0 { s += "; search indexes built in \(format1(indexSeconds)) s" }
        for d in damage { s += "; damaged: \(d)" }
        return s
    }
}

func format1(_ v: Double) -> String {
    let t = (v * 10).rounded() / 10
    return String(t)
}

/// Reads sources line by line, tracks messages and writes them in batches, each with its checkpoint.
/// Used by one thread at a time: the ingestion thread (hence `@unchecked Sendable`).
public final class Importer: @unchecked Sendable {
    public let db: AppDatabase
    public internal(set) var tracker: Tracker
    let parser = Parser()
    let format: LogFormat
    let domains: DomainMapping
    var years: YearTracker
    let writer: BatchWriter
    /// Lines per transaction.
    public var batchLines = 20_000
    /// Longest wall time between two transactions, in seconds.
    public var batchSeconds = 0.25
    /// Full batches (an import catching up) are written in one transaction for at most this many lines
    /// and `transactionSeconds` seconds: each commit writes again every page its transaction changed.
    /// Set before importing.
    public var transactionLines: Int {
        get { writer.transactionLines }
        set { writer.transactionLines = newValue }
    }
    public var transactionSeconds: Double {
        get { writer.transactionSeconds }
        set { writer.transactionSeconds = newValue }
    }
    /// Updated as lines are read: for the progress display and the API.
    public let progress = ImportProgress()
    /// Heads of the files of watched directories, kept between passes while following.
    let headCache = FileHeadCache()
    /// Asked after each batch: true ends an import early (everything read so far is written).
    public var shouldStop: @Sendable () -> Bool = { false }
    /// Called once the last batch of an import is written, before the building of the search indexes
    /// that ends a bulk load: what reads the imported data without those indexes may start then, on
    /// a thread of its own (the server replays the insights alongside the build). Not called when the
    /// import fails.
    public var onWritten: (@Sendable () -> Void)? = nil
    /// Bulk loads (AppDatabase+bulk): once more than `bulkLoadLines` lines came in full batches in a
    /// row, the search indexes are set aside until the batches stop coming full (the import has caught
    /// up) or the import ends, if the import (what came so far, or what the size of its files
    /// promises) brings `bulkLoadRatio` lines per message stored before it, or, on a larger workspace,
    /// at least `bulkLoadLargeLines` lines and one per `bulkLoadLargeDivisor` stored messages.
    /// Building the indexes again costs in proportion to what is stored (about 5–8 µs a message); a
    /// line written without them saves from 1 µs (a new workspace) to 15 µs (600,000 messages, whose
    /// index pages each commit wrote again), more as the workspace grows.
    public var bulkLoadLines: Int64 = 20_000
    public var bulkLoadRatio: Int64 = 10
    public var bulkLoadLargeLines: Int64 = 500_000
    public var bulkLoadLargeDivisor: Int64 = 2
    var fullLines: Int64 = 0
    var bulkLoading = false
    var storedAtStart: Int64 = 0
    var indexSeconds: Double = 0

    public init(db: AppDatabase, format: LogFormat, startingYear: Int, domains: DomainMapping) throws {
        self.db = db
        self.format = format
        self.domains = domains
        let state = try db.loadTrackerState()
        tracker = Tracker(restoring: state.messages, sessions: state.sessions, nextID: state.nextID)
        years = YearTracker(startingYear: startingYear)
        writer = BatchWriter(db: db, domains: domains)
    }

    /// Imports a stream (a path or `-` for standard input) to its end. A stream read before is
    /// recognised by its checkpoint: the lines up to it are skipped.
    public func importStream(path: String, source: String) throws -> ImportSummary {
        let start = monotonicSeconds()
        startRun()
        var summary = ImportSummary()
        var gate = ResumeGate(checkpoint: try db.checkpoint(source))
        var checkpoint = try db.checkpoint(source) ?? Checkpoint(source: source, lines: 0, offset: 0, lastTime: 0, lastHash: 0, sameTimeLines: 0)
        var pendingLines = 0
        var skippedBefore: Int64 = 0
        var progressBytes: Int64 = 0
        var lastFlush = start
        var lastTime: Int64 = 0
        var firstError: (any Error)? = nil
        let reader = LogFileReader(path: path)
        var st = stat()
        let statOK = (path == "-" ? fstat(0, &st) : stat(path, &st)) == 0
        let isRegular = statOK && (st.st_mode & S_IFMT) == S_IFREG
        if isRegular {
            let total = Int64(st.st_size) - (path == "-" ? Int64(lseek(0, 0, SEEK_CUR)) : 0)
            progress.update { $0.bytesTotal += max(0, total); $0.filesTotal += 1 }
        }
        // The tracker and the parser live in locals while the loop runs (no exclusivity checks on `self`).
        var tracker = self.tracker
        defer { self.tracker = tracker }
        let parser = self.parser
        var years = self.years
        defer { self.years = years }
        let read: ReadSummary
        // The last line read from a pipe, hashed only when input pauses (hashing every line cost as
        // much as copying it many times over).
        var lastLine: [UInt8] = []
        // A pipe or a terminal may pause for a long time (tail -F | lightmeter -stdin): what was read
        // is written when input pauses, and a stop request is honoured even while nothing comes.
        let idle: (() throws -> Void)? = isRegular ? nil : {
            if pendingLines > 0 {
                checkpoint.lastHash = lastLine.withUnsafeBufferPointer(fnv1a)
                do {
                    summary.rejections += try self.flush(&tracker, checkpoint, lines: pendingLines,
                                                         skipped: Int(summary.skipped - skippedBefore))
                    skippedBefore = summary.skipped
                } catch {
                    firstError = firstError ?? error
                    throw ImportInterrupted()
                }
                pendingLines = 0
                lastFlush = monotonicSeconds()
            }
            if self.shouldStop() { throw ImportInterrupted() }
        }
        // One line: parsed, placed in time and tracked; false when it was imported before (read again
        // after a restart). A function of the import, not a closure made anew for each line: that
        // retained and released what it captured every time.
        func handle(_ l: UnsafeBufferPointer<UInt8>) -> Bool {
            let record = parser.parse(l)
            var time = record.header.time.isKnown ? years.unixSeconds(for: record.header.time) : lastTime
            if time == 0 { time = lastTime }
            lastTime = time
            guard gate.admit(time: time) else {
                summary.skipped += 1
                return false
            }
            summary.count(record)
            tracker.process(record, line: l, time: time)
            if time == checkpoint.lastTime { checkpoint.sameTimeLines += 1 } else { checkpoint.sameTimeLines = 1 }
            checkpoint.lastTime = time
            return true
        }
        do {
            read = try reader.forEachLine(idle: idle) { line, truncated in
            summary.lines += 1
            if !isRegular {
                lastLine.removeAll(keepingCapacity: true)
                lastLine.append(contentsOf: line)
            }
            if truncated { summary.truncatedLines += 1 }
            let admitted: Bool
            if format == .logstash, let decoded = Logstash.line(from: line) {
                admitted = decoded.withUnsafeBufferPointer(handle)
            } else {
                admitted = handle(line)
            }
            // A line skipped (read again after a restart) is counted in the checkpoint already.
            if admitted {
                checkpoint.lines += 1
                checkpoint.offset += Int64(line.count + 1)
            }
            pendingLines += 1
            progressBytes += Int64(line.count + 1)
            if pendingLines & 4095 == 0 {
                let b = progressBytes
                progressBytes = 0
                progress.update { $0.bytesRead += b; $0.lines += 4096 }
            }
            if pendingLines >= batchLines || pendingLines & 1023 == 0 && monotonicSeconds() - lastFlush >= batchSeconds {
                checkpoint.lastHash = fnv1a(line)
                do {
                    summary.rejections += try flush(&tracker, checkpoint, lines: pendingLines, skipped: Int(summary.skipped - skippedBefore))
                    skippedBefore = summary.skipped
                } catch {
                    firstError = firstError ?? error
                }
                pendingLines = 0
                lastFlush = monotonicSeconds()
                if shouldStop() { throw ImportInterrupted() }
            }
        }
        } catch is ImportInterrupted {
            read = ReadSummary()
        }
        if let e = firstError {
            abandonRun()
            throw e
        }
        do {
            summary.rejections += try flush(&tracker, checkpoint, lines: pendingLines, last: true)
            try endRun(&summary, stopping: shouldStop())
        } catch {
            abandonRun()
            throw error
        }
        let consumed = summary.lines
        progress.update {
            $0.bytesRead = max($0.bytesRead, $0.bytesTotal)
            $0.lines = max($0.lines, consumed)
            $0.filesDone += 1
        }
        if let d = read.damage { summary.damage.append(d.description) }
        summary.seconds = monotonicSeconds() - start
        return summary
    }

    /// Queues what the tracker produced with the checkpoint reached. Returns the rejections in it.
    @discardableResult
    func flush(_ tracker: inout Tracker, _ checkpoint: Checkpoint, lines: Int, skipped: Int = 0, last: Bool = false) throws -> Int64 {
        try flush(&tracker, [checkpoint], lines: lines, skipped: skipped, last: last)
    }

    /// Queues what the tracker produced from `lines` lines (`skipped` of them imported before), with
    /// the checkpoints reached; begins or ends a bulk load (the `last` batch of an import leaves that
    /// to `endRun`). Returns the rejections in it.
    func flush(_ tracker: inout Tracker, _ checkpoints: [Checkpoint], lines: Int, skipped: Int = 0, last: Bool = false) throws -> Int64 {
        let out = tracker.drain()
        let full = lines >= batchLines
        // Lines read again and skipped write nothing: they do not make a bulk load.
        fullLines = full ? fullLines + Int64(lines - skipped) : 0
        let begin = full && !bulkLoading && fullLines > bulkLoadLines && bulkLoadPays()
        if begin { bulkLoading = true }
        try writer.submit(out, checkpoints: checkpoints, nextID: tracker.nextID, lines: lines, follows: full && !last,
                          beginsBulkLoad: begin)
        if !full && !last { try endBulkLoad() }
        return Int64(out.rejections.count)
    }

    /// Whether the lines of this import (what came in full batches so far, or what the size of its
    /// files promises at the same rate) pay for building the search indexes again.
    func bulkLoadPays() -> Bool {
        var lines = fullLines
        let p = progress.snapshot
        if p.bytesTotal > p.bytesRead, p.bytesRead > 0 {
            lines = max(lines, Int64(Double(fullLines) * Double(p.bytesTotal) / Double(p.bytesRead)))
        }
        return lines >= bulkLoadRatio * storedAtStart
            || lines >= bulkLoadLargeLines && lines >= storedAtStart / max(1, bulkLoadLargeDivisor)
    }

    /// Before an import: what is stored decides whether a bulk load pays.
    func startRun() {
        storedAtStart = tracker.nextID - 1
        fullLines = 0
        indexSeconds = 0
    }

    /// Waits for the batches queued, then builds the search indexes set aside, if any.
    func endBulkLoad() throws {
        guard bulkLoading else { return }
        bulkLoading = false
        fullLines = 0
        try writer.finish()
        let t0 = monotonicSeconds()
        try db.finishBulkLoad()
        indexSeconds += monotonicSeconds() - t0
    }

    /// After an import: the last batches written and the bulk load ended. An import asked to stop
    /// leaves the indexes to the next opening of the workspace (a stop should be quick).
    func endRun(_ summary: inout ImportSummary, stopping: Bool) throws {
        try writer.finish()
        onWritten?()
        if stopping {
            bulkLoading = false
        } else {
            try endBulkLoad()
        }
        summary.indexSeconds = indexSeconds
    }

    /// After a failed import: the indexes are built if the database can still be written, else
    /// when the workspace is next opened.
    func abandonRun() {
        guard bulkLoading else { return }
        bulkLoading = false
        try? writer.finish()
        _ = try? db.finishBulkLoad()
    }
}

/// Skips the lines of a stream up to its checkpoint.
struct ResumeGate {
    let checkpoint: Checkpoint?
    var open: Bool
    var sameTime: Int64 = 0

    init(checkpoint: Checkpoint?) {
        self.checkpoint = checkpoint
        open = checkpoint == nil || checkpoint!.lines == 0
    }

    mutating func admit(time: Int64) -> Bool {
        if open { return true }
        let cp = checkpoint!
        if time > cp.lastTime {
            open = true
            return true
        }
        if time < cp.lastTime { return false }
        sameTime += 1
        if sameTime >= cp.sameTimeLines { open = true }
        return false
    }
}

/// 64-bit FNV-1a of a line.
@inline(__always)
func fnv1a(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for b in bytes {
        h ^= UInt64(b)
        h &*= 0x0000_0100_0000_01B3
    }
    return Int64(bitPattern: h)
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

extension Importer {
    /// Imports the lines of a queue (network sources) until it is closed or `stop()` says so.
    public func importQueue(_ queue: LineQueue, source: String, stop: () -> Bool) throws -> ImportSummary {
        let start = monotonicSeconds()
        var summary = ImportSummary()
        var tracker = self.tracker
        defer { self.tracker = tracker }
        var years = self.years
        defer { self.years = years }
        var checkpoint = try db.checkpoint(source) ?? Checkpoint(source: source, lines: 0, offset: 0, lastTime: 0, lastHash: 0, sameTimeLines: 0)
        var pending = 0
        var lastFlush = monotonicSeconds()
        var lastTime: Int64 = 0
        while true {
            let lines = queue.take(max: 4096, timeout: 0.25)
            for raw in lines {
                var bytes = raw
                if format == .logstash, let l = bytes.withUnsafeBufferPointer({ Logstash.line(from: $0) }) { bytes = l }
                bytes.withUnsafeBufferPointer { l in
                    let record = parser.parse(l)
                    var time = record.header.time.isKnown ? years.unixSeconds(for: record.header.time) : lastTime
                    if time == 0 { time = lastTime }
                    lastTime = time
                    summary.lines += 1
                    summary.count(record)
                    tracker.process(record, line: l, time: time)
                    checkpoint.lines += 1
                    checkpoint.offset += Int64(l.count + 1)
                    if time == checkpoint.lastTime { checkpoint.sameTimeLines += 1 } else { checkpoint.sameTimeLines = 1 }
                    checkpoint.lastTime = time
                }
                pending += 1
            }
            let done = queue.isClosed || stop()
            if pending > 0 && (pending >= batchLines || monotonicSeconds() - lastFlush >= batchSeconds || done) {
                // Network sources are live: never a bulk load (not a full batch for the policy).
                summary.rejections += try flush(&tracker, checkpoint, lines: 0)
                pending = 0
                lastFlush = monotonicSeconds()
            }
            if done { break }
        }
        try writer.finish()
        summary.seconds = monotonicSeconds() - start
        return summary
    }
}

/// Thrown inside a read loop to end it when `shouldStop` says so.
struct ImportInterrupted: Error {}
