#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CBzip2
import CompressNIO
import NIOCore

public enum Compression: String, Sendable {
    case none, gzip, bzip2

    /// Recognises the compression from a file's first bytes.
    public static func sniff(_ head: [UInt8]) -> Compression {
        if head.count >= 2, head[0] == 0x1F, head[1] == 0x8B { return .gzip }
        if head.count >= 3, head[0] == 0x42, head[1] == 0x5A, head[2] == 0x68 { return .bzip2 }
        return .none
    }
}

public struct LogFileError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var message: String
    /// Offset in the (compressed) file where the damage was found.
    public var offset: Int64?

    public var description: String {
        if let o = offset { return "\(path): \(message) (at byte \(o))" }
        return "\(path): \(message)"
    }
}

/// What reading a file found, besides its lines.
public struct ReadSummary: Sendable {
    public var compression: Compression = .none
    public var bytesRead: Int64 = 0
    public var lines: Int = 0
    public var truncatedLines: Int = 0
    /// Set when the file is damaged (a truncated or corrupt archive): lines up to the damage were delivered.
    public var damage: LogFileError?
}

/// Reads a log file (plain, gzip or bzip2, recognised by content) line by line with bounded memory.
public struct LogFileReader {
    public let path: String
    public var maxLineLength = 64 * 1024
    /// Bytes read from the file at a time.
    public var chunkSize = 1 << 18

    public init(path: String) {
        self.path = path
    }

    /// Calls `body` for every line. Throws only when the file cannot be opened or read at all;
    /// damage inside an archive is reported in the summary after the lines before it.
    /// `idle`, for pipes and terminals: called each half second that no input arrives (to write what
    /// was read, or to stop by throwing).
    public func forEachLine(idle: (() throws -> Void)? = nil, _ body: (UnsafeBufferPointer<UInt8>, _ truncated: Bool) throws -> Void) throws -> ReadSummary {
        let cursor = try LogFileCursor(path: path, maxLineLength: maxLineLength, chunkSize: chunkSize)
        cursor.onIdle = idle
        var summary = ReadSummary()
        while let (line, cut) = try cursor.nextLine() {
            summary.lines += 1
            try body(line, cut)
        }
        summary.compression = cursor.compression
        summary.bytesRead = cursor.fileOffset
        summary.truncatedLines = cursor.truncatedLines
        summary.damage = cursor.damage
        return summary
    }
}

struct DecodeError: Error {
    var message: String
}

protocol ChunkDecoder {
    mutating func decode(_ input: UnsafeRawBufferPointer, _ output: (UnsafeRawBufferPointer) throws -> Void) throws
    /// Whether the compressed stream ended properly.
    var isComplete: Bool { get }
}

/// gzip through compress-nio's zlib inflater; handles multi-member files.
struct GzipDecoder: ChunkDecoder {
    let inflater: ZlibDecompressor
    var window: ByteBuffer
    var input: ByteBuffer
    var trailingGarbage = false

    init() throws {
        inflater = try ZlibDecompressor(algorithm: .gzip)
        window = ByteBufferAllocator().buffer(capacity: 1 << 18)
        input = ByteBufferAllocator().buffer(capacity: 1 << 20)
    }

    mutating func decode(_ chunk: UnsafeRawBufferPointer, _ output: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !trailingGarbage else { return }
        input.clear()
        input.writeBytes(chunk)
        while input.readableBytes > 0 {
            window.clear()
            var outputFull = false
            do {
                try inflater.inflate(from: &input, to: &window)
            } catch let e as CompressNIOError where e == .bufferOverflow {
                outputFull = true
            } catch let e as CompressNIOError where e == .inputBufferOverflow {
                // all input consumed
            } catch let e as CompressNIOError where e == .corruptData {
                if window.readableBytes > 0 { try window.withUnsafeReadableBytes { try output($0) } }
                throw DecodeError(message: "corrupt gzip data")
            }
            if window.readableBytes > 0 {
                try window.withUnsafeReadableBytes { try output($0) }
            }
            if !outputFull && input.readableBytes > 0 {
                // The member ended with input left: another member follows, or trailing bytes.
                try inflater.reset()
                let magic = input.getBytes(at: input.readerIndex, length: min(2, input.readableBytes)) ?? []
                if magic.count == 2 && (magic[0] != 0x1F || magic[1] != 0x8B) || magic.count == 1 && magic[0] != 0x1F {
                    trailingGarbage = true
                    input.clear()
                }
            }
        }
    }

    /// After the end of a member zlib stays in its end state: inflating nothing then returns cleanly,
    /// while a stream cut short asks for more input.
    var isComplete: Bool {
        if trailingGarbage { return true }
        var empty = ByteBufferAllocator().buffer(capacity: 16)
        var out = ByteBufferAllocator().buffer(capacity: 16)
        do {
            try inflater.inflate(from: &empty, to: &out)
            return true
        } catch {
            return false
        }
    }
}

/// bzip2 through libbz2; handles concatenated streams (pbzip2).
struct Bzip2Decoder: ChunkDecoder {
    final class Stream {
        var s = bz_stream()
        var open = false
        init() throws {
            guard BZ2_bzDecompressInit(&s, 0, 0) == BZ_OK else { throw DecodeError(message: "bzip2 initialisation failed") }
            open = true
        }
        func reset() throws {
            if open { BZ2_bzDecompressEnd(&s) }
            s = bz_stream()
            guard BZ2_bzDecompressInit(&s, 0, 0) == BZ_OK else { throw DecodeError(message: "bzip2 initialisation failed") }
            open = true
        }
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 18, alignment: 16)
        deinit {
            if open { BZ2_bzDecompressEnd(&s) }
            out.deallocate()
        }
    }

    let stream: Stream
    var out: UnsafeMutableRawBufferPointer { stream.out }
    var ended = false
    var trailingGarbage = false
    var isComplete: Bool { ended || trailingGarbage }

    init() throws {
        stream = try Stream()
    }

    mutating func decode(_ chunk: UnsafeRawBufferPointer, _ output: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard !trailingGarbage, let inBase = chunk.baseAddress else { return }
        var consumed = 0
        while consumed < chunk.count {
            if ended {
                // Another stream follows?
                let rest = chunk.count - consumed
                let b = inBase.assumingMemoryBound(to: UInt8.self) + consumed
                if rest >= 1 && b[0] != 0x42 || rest >= 2 && b[1] != 0x5A || rest >= 3 && b[2] != 0x68 {
                    trailingGarbage = true
                    return
                }
                try stream.reset()
                ended = false
            }
            stream.s.next_in = UnsafeMutablePointer(mutating: (inBase + consumed).assumingMemoryBound(to: CChar.self))
            stream.s.avail_in = UInt32(chunk.count - consumed)
            stream.s.next_out = out.baseAddress!.assumingMemoryBound(to: CChar.self)
            stream.s.avail_out = UInt32(out.count)
            let rc = BZ2_bzDecompress(&stream.s)
            let used = (chunk.count - consumed) - Int(stream.s.avail_in)
            consumed += used
            let produced = out.count - Int(stream.s.avail_out)
            if produced > 0 { try output(UnsafeRawBufferPointer(rebasing: out[0..<produced])) }
            switch rc {
            case BZ_OK: if used == 0 && produced == 0 { return }
            case BZ_STREAM_END: ended = true
            default: throw DecodeError(message: "corrupt bzip2 data (code \(rc))")
            }
        }
    }
}
