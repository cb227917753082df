#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a log file (plain, gzip or bzip2) one line at a time, on demand: the line returned is valid
/// until the next call. `offset` counts the uncompressed bytes consumed, so that a checkpoint can
/// resume there, whatever the file's compression.
public final class LogFileCursor {
    public let path: String
    public private(set) var compression: Compression = .none
    /// Uncompressed bytes consumed (lines returned, with their newlines).
    public private(set) var offset: Int64 = 0
    /// Bytes read from the file itself.
    public private(set) var fileOffset: Int64 = 0
    public private(set) var damage: LogFileError?
    public private(set) var truncatedLines = 0
    public let maxLineLength: Int

    private var fd: Int32
    /// Called when no input has come for half a second (pipes, terminals, sockets); may throw to stop.
    public var onIdle: (() throws -> Void)?
    private var decoder: (any ChunkDecoder)?
    /// The bytes read and not yet returned as lines: `[pos, count)` of `pending`, a buffer of
    /// `capacity` bytes. A plain file is read straight into it (no copy through `chunk`).
    private var pending: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var count = 0
    private var pos = 0
    private var eof = false
    private var started = false
    private let chunk: UnsafeMutableRawBufferPointer
    private var lineBuffer: [UInt8] = []

    /// Opens `path` (`-` for standard input).
    public init(path: String, maxLineLength: Int = 64 * 1024, chunkSize: Int = 1 << 18) throws {
        self.path = path
        self.maxLineLength = maxLineLength
        fd = path == "-" ? dup(0) : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw LogFileError(path: path, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, chunkSize), alignment: 16)
        capacity = 2 * max(1, chunkSize)
        pending = .allocate(capacity: capacity)
    }

    deinit {
        if fd >= 0 { close(fd) }
        chunk.deallocate()
        pending.deallocate()
    }

    /// Makes room for `more` bytes after `count`.
    private func reserve(_ more: Int) {
        guard count + more > capacity else { return }
        var c = capacity
        while c < count + more { c *= 2 }
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: c)
        p.update(from: pending, count: count)
        pending.deallocate()
        pending = p
        capacity = c
    }

    private func append(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(pending + count).copyMemory(from: base, byteCount: bytes.count)
        count += bytes.count
    }

    private func copy(_ from: Int, _ length: Int) -> [UInt8] {
        Array(UnsafeBufferPointer(start: pending + from, count: length))
    }

    /// The file's inode and size now.
    public var fileStatus: (inode: UInt64, size: Int64)? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return (UInt64(st.st_ino), Int64(st.st_size))
    }

    /// The next complete line (without its newline), or nil at the end of what is there now. A last
    /// line without a newline is returned only with `final`.
    public func nextLine(final: Bool = true) throws -> (line: UnsafeBufferPointer<UInt8>, truncated: Bool)? {
        while true {
            if let r = takeLine() { return r }
            if try eof || !fill() {
                eof = true
                guard final, pos < count else { return nil }
                // A last line with no newline.
                let len = min(count - pos, maxLineLength)
                lineBuffer = copy(pos, len)
                offset += Int64(count - pos)
                pos = count
                return lineBuffer.withUnsafeBufferPointer { ($0, false) }
            }
        }
    }

    /// Reading again after the end: the file may have grown (a live log).
    public func resume() { eof = false }

    private func takeLine() -> (UnsafeBufferPointer<UInt8>, Bool)? {
        while true {
            let n = count
            guard pos < n else { return nil }
            let start = pos
            let found: Int? = memchr(pending + start, 0x0A, n - start).map {
                pending.distance(to: $0.assumingMemoryBound(to: UInt8.self))
            }
            if skippingRest {
                // The rest of a line that was cut: drop it up to its newline.
                let end = found.map { $0 + 1 } ?? n
                offset += Int64(end - start)
                pos = end
                if found != nil { skippingRest = false; continue }
                return nil
            }
            guard let nl = found else {
                if n - start > maxLineLength {
                    // A line longer than allowed: deliver its beginning now, drop the rest.
                    truncatedLines += 1
                    lineBuffer = copy(start, maxLineLength)
                    offset += Int64(n - start)
                    pos = n
                    skippingRest = true
                    return lineBuffer.withUnsafeBufferPointer { ($0, true) }
                }
                return nil
            }
            pos = nl + 1
            offset += Int64(pos - start)
            let len = nl - start
            if len > maxLineLength { truncatedLines += 1 }
            // The line where it lies in `pending`, which stays as it is until the next call (like
            // `lineBuffer` for the lines that need a copy).
            return (UnsafeBufferPointer(start: pending + start, count: min(len, maxLineLength)), len > maxLineLength)
        }
    }

    private var skippingRest = false

    /// Reads and decodes the next chunk into `pending`. False at the end of the file.
    private func fill() throws -> Bool {
        if eofAfterDamage { return false }
        if pos > 0 {
            if pos < count { memmove(pending, pending + pos, count - pos) }
            count -= pos
            pos = 0
        }
        while true {
            if let idle = onIdle {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let r = poll(&p, 1, 500)
                if r == 0 { try idle(); continue }
                if r < 0 && errno == EINTR { continue }
            }
            // Once a file is known to be plain, it is read straight into `pending`.
            let direct = started && decoder == nil
            if direct { reserve(chunk.count) }
            let n = read(fd, direct ? UnsafeMutableRawPointer(pending + count) : chunk.baseAddress, chunk.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw LogFileError(path: path, message: "read failed: \(String(cString: strerror(errno)))", offset: fileOffset)
            }
            if n == 0 {
                if damage == nil, let d = decoder, !d.isComplete {
                    damage = LogFileError(path: path, message: "the \(compression.rawValue) archive is truncated", offset: fileOffset)
                }
                return false
            }
            if direct {
                fileOffset += Int64(n)
                count += n
                return true
            }
            let data = UnsafeRawBufferPointer(rebasing: chunk[0..<n])
            if !started {
                started = true
                compression = Compression.sniff(Array(data.prefix(3)))
                switch compression {
                case .gzip: decoder = try GzipDecoder()
                case .bzip2: decoder = try Bzip2Decoder()
                case .none: decoder = nil
                }
            }
            let at = fileOffset
            fileOffset += Int64(n)
            if var d = decoder {
                let before = count
                do {
                    try d.decode(data) { out in append(out) }
                } catch let e as DecodeError {
                    damage = LogFileError(path: path, message: e.message, offset: at)
                    decoder = d
                    eofAfterDamage = true
                    return count > before
                }
                decoder = d
                if eofAfterDamage { return count > before }
                if count > before { return true }
            } else {
                append(data)
                return true
            }
        }
    }

    private var eofAfterDamage = false

    /// Passes over the next `count` uncompressed bytes (fewer at the end of the file).
    public func skip(_ count: Int64) throws {
        var left = count
        while left > 0 {
            if pos >= self.count {
                guard try fill() else { return }
            }
            let take = min(Int64(self.count - pos), left)
            pos += Int(take)
            offset += take
            left -= take
        }
    }
}
