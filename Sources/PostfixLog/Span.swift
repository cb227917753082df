#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A range of bytes inside the line a record was parsed from.
///
/// Records keep text as spans so that parsing allocates nothing; a `String` is made only when
/// someone asks for it (`LogLine.string(_:)`).
public struct Span: Hashable, Sendable {
    public var start: Int32
    public var count: Int32

    @inline(__always)
    public init(start: Int, count: Int) {
        self.start = Int32(truncatingIfNeeded: start)
        self.count = Int32(truncatingIfNeeded: count)
    }

    @inline(__always)
    init(from start: Int, to end: Int) {
        self.init(start: start, count: end - start)
    }

    public static let empty = Span(start: 0, count: 0)

    public var isEmpty: Bool { count == 0 }
    public var end: Int { Int(start) + Int(count) }
    public var range: Range<Int> { Int(start)..<end }
}

/// A line of raw bytes and helpers to turn spans of it into strings.
public struct LogLine: Sendable {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public init(_ string: String) { self.bytes = Array(string.utf8) }

    /// The text of a span, with invalid UTF-8 repaired.
    public func string(_ span: Span) -> String {
        let r = span.range.clamped(to: 0..<bytes.count)
        return String(decoding: bytes[r], as: UTF8.self)
    }

    public func string(_ span: Span?) -> String? {
        span.map { string($0) }
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }
}

extension UnsafeBufferPointer where Element == UInt8 {
    /// The text of a span of this buffer, with invalid UTF-8 repaired.
    public func string(_ span: Span) -> String {
        let r = span.range.clamped(to: 0..<count)
        return String(decoding: UnsafeBufferPointer(rebasing: self[r]), as: UTF8.self)
    }

    public func string(_ span: Span?) -> String? {
        span.map { string($0) }
    }

    /// Whether the span's bytes equal the ASCII text given.
    public func span(_ span: Span, equals text: StaticString) -> Bool {
        guard Int(span.count) == text.utf8CodeUnitCount, span.end <= count, let base = baseAddress else { return false }
        return memcmp(base + Int(span.start), text.utf8Start, Int(span.count)) == 0
    }
}

