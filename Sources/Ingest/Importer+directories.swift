import PostfixLog
import Store
import Tracking

/// One pattern's files read in order as one stream of lines, each line parsed once.
final class FamilyStream {
    let family: LogFamily
    let index: Int
    let parser: Parser
    private var fileIndex = -1
    private(set) var cursor: LogFileCursor?
    private(set) var checkpoint: Checkpoint?
    var years: YearTracker
    /// The line waiting to be merged, its record and its time.
    private(set) var line: [UInt8] = []
    private(set) var record: Record?
    private(set) var truncated = false
    private(set) var time: Int64 = 0
    private var lastTime: Int64 = 0
    /// Checkpoints changed since the last flush.
    var dirty: [String: Checkpoint] = [:]
    /// Files finished, and the bytes of the files (as stored: compressed for archives) read so far.
    private(set) var filesDone = 0
    private var finishedBytes: Int64 = 0
    var bytesDone: Int64 { finishedBytes + (cursor?.fileOffset ?? 0) }
    var damage: [String] = []

    init(family: LogFamily, index: Int, parser: Parser) {
        self.family = family
        self.index = index
        self.parser = parser
        let first = family.files.first
        var year = 1970
        if let f = first {
            year = Int(LogTime(fromUnix: f.firstTime != 0 ? f.firstTime : f.modified).year)
        }
        years = YearTracker(startingYear: year)
    }

    static func source(_ family: LogFamily, _ file: LogFileInfo) -> String {
        "file:\(family.directory)/\(family.pattern):\(String(UInt64(bitPattern: file.fingerprint), radix: 16))"
    }

    /// Moves to the next line, across files. False when every file is read to its end (for now).
    func advance(db: AppDatabase) throws -> Bool {
        while true {
            if let c = cursor, let (l, cut) = try c.nextLine(final: fileIndex < family.files.count - 1) {
                take(l, cut)
                return true
            }
            // The current file is done (or there is none yet).
            if let c = cursor, var cp = checkpoint {
                let file = family.files[fileIndex]
                cp.offset = c.offset
                if !file.isLive { cp.complete = true }
                checkpoint = cp
                dirty[cp.source] = cp
                if let d = c.damage { damage.append(d.description) }
                if file.isLive { return false }
            }
            if fileIndex >= 0 {
                filesDone += 1
                finishedBytes += family.files[fileIndex].size
            }
            fileIndex += 1
            guard fileIndex < family.files.count else {
                cursor = nil
                return false
            }
            let file = family.files[fileIndex]
            let source = Self.source(family, file)
            var cp = try db.checkpoint(source)
                ?? Checkpoint(source: source, lines: 0, offset: 0, lastTime: 0, lastHash: 0, sameTimeLines: 0)
            cp.identity = "inode=\(file.inode);path=\(file.path)"
            if cp.complete {
                cursor = nil
                checkpoint = nil
                continue
            }
            // The name may no longer be the file the scan saw (rotated or truncated since): read with
            // that file's checkpoint, it would skip or repeat lines. Its family waits for the next look.
            let opened: LogFileCursor
            let sameFile: Bool
            let first: (line: UnsafeBufferPointer<UInt8>, truncated: Bool)?
            do {
                opened = try LogFileCursor(path: file.path)
                sameFile = opened.fileStatus?.inode == file.inode
                first = sameFile ? try opened.nextLine(final: !file.isLive) : nil
            } catch {
                damage.append("\(error)")
                cursor = nil
                checkpoint = nil
                continue
            }
            if sameFile && first == nil && file.fingerprint == 0 {
                // Without a whole line (yet): nothing to read.
                cursor = nil
                checkpoint = nil
                if file.isLive { return false }
                continue
            }
            guard let first, DirectoryScanner.fingerprintOf(first.line) == file.fingerprint else {
                cursor = nil
                checkpoint = nil
                fileIndex = family.files.count
                return false
            }
            cursor = opened
            checkpoint = cp
            if cp.offset == 0 {
                take(first.line, first.truncated)
                return true
            }
            do {
                try opened.skip(cp.offset - opened.offset)
            } catch {
                damage.append("\(error)")
                cursor = nil
                checkpoint = nil
                continue
            }
        }
    }

    /// Makes `l` the line waiting to be merged.
    private func take(_ l: UnsafeBufferPointer<UInt8>, _ cut: Bool) {
        line.removeAll(keepingCapacity: true)
        line.append(contentsOf: l)
        truncated = cut
        let r = line.withUnsafeBufferPointer { parser.parse($0) }
        record = r
        var t = r.header.time.isKnown ? years.unixSeconds(for: r.header.time) : lastTime
        if t == 0 { t = lastTime }
        time = t
        lastTime = t
    }

    /// Records that the current line was consumed.
    func consumed() {
        guard var cp = checkpoint, let c = cursor else { return }
        cp.lines += 1
        cp.offset = c.offset
        if time == cp.lastTime { cp.sameTimeLines += 1 } else { cp.sameTimeLines = 1 }
        cp.lastTime = time
        checkpoint = cp
        dirty[cp.source] = cp
    }
}

/// The log files found in watched directories at one look.
public struct DirectoryScan: Sendable {
    public var families: [LogFamily] = []
    public var unreadable: [String] = []
}

extension Importer {
    /// Imports the log files of watched directories: every file of the patterns, rotated ones
    /// included (numbered, dated, gzip, bzip2), oldest first, the patterns merged in time order.
    /// Lines that two patterns both hold (Debian's rsyslog writes warnings to mail.log and mail.warn)
    /// count once. What earlier runs imported is skipped, file by file, whatever the file's name now.
    public func importDirectories(_ directories: [String], patterns: [String]) throws -> ImportSummary {
        try importScanned(scanDirectories(directories, patterns: patterns))
    }

    /// The log files of `directories` as they are now (the first half of `importDirectories`).
    public func scanDirectories(_ directories: [String], patterns: [String]) throws -> DirectoryScan {
        var scan = DirectoryScan()
        for dir in directories {
            let s = try DirectoryScanner.scan(directory: dir, patterns: patterns, cache: headCache)
            scan.families += s.families
            scan.unreadable += s.unreadable
        }
        return scan
    }

    /// Imports the files of a scan. A file renamed since the scan (its name now another file's) ends
    /// its family's reading for this call; the next scan finds it under its new name.
    public func importScanned(_ scan: DirectoryScan) throws -> ImportSummary {
        let start = monotonicSeconds()
        startRun()
        var summary = ImportSummary()
        summary.damage += scan.unreadable
        var streams: [FamilyStream] = []
        for f in scan.families { streams.append(FamilyStream(family: f, index: streams.count, parser: parser)) }
        let total = streams.reduce(Int64(0)) { $0 + $1.family.files.reduce(0) { $0 + $1.size } }
        let files = streams.reduce(0) { $0 + $1.family.files.count }
        progress.update { $0.bytesTotal = total; $0.filesTotal = files; $0.bytesRead = 0; $0.filesDone = 0 }
        var tracker = self.tracker
        defer { self.tracker = tracker }
        var active: [FamilyStream] = []
        for s in streams where try s.advance(db: db) { active.append(s) }
        // Lines of the last two seconds, by hash, with the stream that gave them.
        var recent: [Int64: Int] = [:]
        var recentSecond: Int64 = .min
        var pending = 0
        var lastFlush = start
        func flushAll(lines: Int, last: Bool = false) throws {
            var cps: [Checkpoint] = []
            for s in streams {
                cps.append(contentsOf: s.dirty.values)
                s.dirty.removeAll()
            }
            summary.rejections += try flush(&tracker, cps, lines: lines, last: last)
        }
        while !active.isEmpty {
            var pick = 0
            for i in 1..<active.count where active[i].time < active[pick].time { pick = i }
            let s = active[pick]
            summary.lines += 1
            if s.truncated { summary.truncatedLines += 1 }
            var duplicate = false
            if streams.count > 1 {
                if s.time > recentSecond + 1 {
                    recent.removeAll(keepingCapacity: true)
                }
                recentSecond = max(recentSecond, s.time)
                let h = s.line.withUnsafeBufferPointer { fnv1a($0) } &+ s.time
                if let other = recent[h], other != s.index {
                    duplicate = true
                } else {
                    recent[h] = s.index
                }
            }
            if duplicate {
                summary.duplicates += 1
            } else if let record = s.record {
                summary.count(record)
                s.line.withUnsafeBufferPointer { tracker.process(record, line: $0, time: s.time) }
            }
            s.consumed()
            pending += 1
            if pending & 4095 == 0 {
                let read = streams.reduce(Int64(0)) { $0 + $1.bytesDone }
                let lines = summary.lines
                let done = streams.reduce(0) { $0 + $1.filesDone }
                progress.update { $0.bytesRead = read; $0.lines = lines; $0.filesDone = done }
            }
            if !(try s.advance(db: db)) { active.remove(at: pick) }
            if pending >= batchLines || pending & 1023 == 0 && monotonicSeconds() - lastFlush >= batchSeconds {
                do {
                    try flushAll(lines: pending)
                } catch {
                    abandonRun()
                    throw error
                }
                pending = 0
                lastFlush = monotonicSeconds()
                if shouldStop() { break }
            }
        }
        do {
            try flushAll(lines: pending, last: true)
            try endRun(&summary, stopping: shouldStop())
        } catch {
            abandonRun()
            throw error
        }
        let lines = summary.lines
        progress.update { $0.bytesRead = $0.bytesTotal; $0.lines = lines; $0.filesDone = $0.filesTotal }
        for s in streams { summary.damage += s.damage }
        summary.seconds = monotonicSeconds() - start
        return summary
    }
}
