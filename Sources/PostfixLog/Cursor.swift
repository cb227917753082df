#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A value-type cursor over the bytes of one line. Copy it to backtrack.
struct Cursor {
    let base: UnsafePointer<UInt8>
    var pos: Int
    var end: Int

    @inline(__always)
    init(base: UnsafePointer<UInt8>, pos: Int, end: Int) {
        self.base = base
        self.pos = pos
        self.end = end
    }

    @inline(__always) var isAtEnd: Bool { pos >= end }
    @inline(__always) var remaining: Int { end - pos }

    @inline(__always)
    func peek() -> UInt8? { pos < end ? base[pos] : nil }

    @inline(__always)
    func peek(at offset: Int) -> UInt8? { pos + offset < end ? base[pos + offset] : nil }

    @inline(__always)
    mutating func advance(_ n: Int = 1) { pos = min(pos + n, end) }

    /// The rest of the line as a span (the cursor does not move).
    @inline(__always)
    var rest: Span { Span(from: pos, to: end) }

    /// Consumes `literal` if the bytes at the cursor equal it.
    @inline(__always)
    mutating func skip(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard end - pos >= n, memcmp(base + pos, literal.utf8Start, n) == 0 else { return false }
        pos += n
        return true
    }

    /// Whether the bytes at the cursor equal `literal` (the cursor does not move).
    @inline(__always)
    func starts(with literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        return end - pos >= n && memcmp(base + pos, literal.utf8Start, n) == 0
    }

    /// Whether the line ends with `literal`.
    @inline(__always)
    func ends(with literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        return end - pos >= n && memcmp(base + end - n, literal.utf8Start, n) == 0
    }

    @inline(__always)
    mutating func skip(byte: UInt8) -> Bool {
        guard pos < end, base[pos] == byte else { return false }
        pos += 1
        return true
    }

    @inline(__always)
    mutating func skipSpaces() {
        while pos < end, base[pos] == UInt8(ascii: " ") { pos += 1 }
    }

    /// Index of the next `byte` at or after the cursor, or nil.
    @inline(__always)
    func find(_ byte: UInt8) -> Int? {
        guard pos < end, let p = memchr(base + pos, Int32(byte), end - pos) else { return nil }
        return base.distance(to: p.assumingMemoryBound(to: UInt8.self))
    }

    /// Index of the next occurrence of `literal` at or after the cursor, or nil.
    func find(_ literal: StaticString) -> Int? {
        let n = literal.utf8CodeUnitCount
        guard n > 0 else { return pos }
        let first = literal.utf8Start.pointee
        var i = pos
        while end - i >= n {
            guard let p = memchr(base + i, Int32(first), end - i - n + 1) else { return nil }
            let j = base.distance(to: p.assumingMemoryBound(to: UInt8.self))
            if memcmp(base + j, literal.utf8Start, n) == 0 { return j }
            i = j + 1
        }
        return nil
    }

    /// Index of the last occurrence of `literal` in the rest of the line, or nil.
    func findLast(_ literal: StaticString) -> Int? {
        let n = literal.utf8CodeUnitCount
        var i = end - n
        while i >= pos {
            if memcmp(base + i, literal.utf8Start, n) == 0 { return i }
            i -= 1
        }
        return nil
    }

    /// Consumes bytes up to `byte` (exclusive) and the byte itself; returns the span before it.
    @inline(__always)
    mutating func take(until byte: UInt8) -> Span? {
        guard let i = find(byte) else { return nil }
        let s = Span(from: pos, to: i)
        pos = i + 1
        return s
    }

    /// Consumes bytes up to `literal` (exclusive) and the literal; returns the span before it.
    @inline(__always)
    mutating func take(until literal: StaticString) -> Span? {
        guard let i = find(literal) else { return nil }
        let s = Span(from: pos, to: i)
        pos = i + literal.utf8CodeUnitCount
        return s
    }

    /// Consumes up to the next space (or the end); returns the word.
    @inline(__always)
    mutating func word() -> Span {
        let start = pos
        while pos < end, base[pos] != UInt8(ascii: " ") { pos += 1 }
        return Span(from: start, to: pos)
    }

    /// Consumes everything to the end.
    @inline(__always)
    mutating func takeRest() -> Span {
        let s = Span(from: pos, to: end)
        pos = end
        return s
    }

    /// Consumes a decimal unsigned integer.
    @inline(__always)
    mutating func integer() -> Int? {
        var v = 0
        let start = pos
        while pos < end {
            let c = base[pos] &- UInt8(ascii: "0")
            if c > 9 { break }
            if pos - start >= 18 { return nil }
            v = v &* 10 &+ Int(c)
            pos += 1
        }
        return pos > start ? v : nil
    }

    /// Consumes a decimal number with an optional fraction (`0.23`, `14`, `1e-05`).
    mutating func decimal() -> Double? {
        let start = pos
        guard let whole = integer() else { return nil }
        var value = Double(whole)
        if pos < end, base[pos] == UInt8(ascii: ".") {
            pos += 1
            var frac = 0
            var digits = 0
            while pos < end {
                let c = base[pos] &- UInt8(ascii: "0")
                if c > 9 { break }
                if digits < 15 { frac = frac &* 10 &+ Int(c); digits += 1 }
                pos += 1
            }
            if digits > 0 { value += Double(frac) / powersOf10[digits] }
        }
        if pos < end, base[pos] == UInt8(ascii: "e") || base[pos] == UInt8(ascii: "E") {
            var c2 = self
            c2.pos += 1
            var negative = false
            if c2.skip(byte: UInt8(ascii: "-")) { negative = true } else { _ = c2.skip(byte: UInt8(ascii: "+")) }
            if let exp = c2.integer(), exp < 400 {
                var f = 1.0
                for _ in 0..<exp { f *= 10 }
                value = negative ? value / f : value * f
                self = c2
            }
        }
        return pos > start ? value : nil
    }

    @inline(__always)
    func byte(at i: Int) -> UInt8 { base[i] }

    @inline(__always)
    func span(_ s: Span, equals literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        return Int(s.count) == n && memcmp(base + Int(s.start), literal.utf8Start, n) == 0
    }

    /// A cursor limited to the span.
    @inline(__always)
    func sub(_ s: Span) -> Cursor { Cursor(base: base, pos: Int(s.start), end: s.end) }
}

@inline(__always)
func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") <= 9 }

@inline(__always)
func isHexUpper(_ c: UInt8) -> Bool { isDigit(c) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "F")) }

@inline(__always)
func isAlnum(_ c: UInt8) -> Bool {
    isDigit(c) || (c | 0x20 >= UInt8(ascii: "a") && c | 0x20 <= UInt8(ascii: "z"))
}

let powersOf10: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15]
