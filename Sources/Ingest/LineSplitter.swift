#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits a byte stream into lines without copying when a line lies within one chunk.
///
/// Lines longer than `maxLineLength` are cut: the first `maxLineLength` bytes are delivered with
/// `truncated == true`, the rest of that line is skipped and counted.
public struct LineSplitter {
    public let maxLineLength: Int
    private var carry: [UInt8] = []
    private var skippingLongLine = false
    public private(set) var truncatedLines = 0
    public private(set) var skippedBytes = 0

    public init(maxLineLength: Int = 64 * 1024) {
        self.maxLineLength = maxLineLength
        carry.reserveCapacity(4096)
    }

    /// Feeds a chunk; calls `body` for each complete line (without the newline).
    public mutating func feed(_ chunk: UnsafeRawBufferPointer,
                              _ body: (UnsafeBufferPointer<UInt8>, _ truncated: Bool) throws -> Void) rethrows {
        guard let base = chunk.baseAddress?.assumingMemoryBound(to: UInt8.self), chunk.count > 0 else { return }
        var pos = 0
        let end = chunk.count
        while pos < end {
            let nl = memchr(base + pos, 0x0A, end - pos).map { base.distance(to: $0.assumingMemoryBound(to: UInt8.self)) }
            let lineEnd = nl ?? end
            if skippingLongLine {
                skippedBytes += lineEnd - pos
                if nl != nil { skippingLongLine = false }
            } else if carry.isEmpty && nl != nil {
                let len = lineEnd - pos
                if len > maxLineLength {
                    truncatedLines += 1
                    skippedBytes += len - maxLineLength
                    try body(UnsafeBufferPointer(start: base + pos, count: maxLineLength), true)
                } else {
                    try body(UnsafeBufferPointer(start: base + pos, count: len), false)
                }
            } else {
                let room = maxLineLength - carry.count
                let len = lineEnd - pos
                if len > room {
                    carry.append(contentsOf: UnsafeBufferPointer(start: base + pos, count: room))
                    skippedBytes += len - room
                    truncatedLines += 1
                    try carry.withUnsafeBufferPointer { try body($0, true) }
                    carry.removeAll(keepingCapacity: true)
                    if nl == nil { skippingLongLine = true }
                } else {
                    carry.append(contentsOf: UnsafeBufferPointer(start: base + pos, count: len))
                    if nl != nil {
                        try carry.withUnsafeBufferPointer { try body($0, false) }
                        carry.removeAll(keepingCapacity: true)
                    }
                }
            }
            pos = lineEnd + 1
        }
    }

    /// Delivers a last line that had no newline.
    public mutating func finish(_ body: (UnsafeBufferPointer<UInt8>, _ truncated: Bool) throws -> Void) rethrows {
        skippingLongLine = false
        if !carry.isEmpty {
            try carry.withUnsafeBufferPointer { try body($0, false) }
            carry.removeAll(keepingCapacity: true)
        }
    }

    /// Bytes of an incomplete last line held back.
    public var pendingBytes: Int { carry.count }
}
