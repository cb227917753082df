/// The LZ4 block format (lz4's `doc/lz4_Block_format.md`): the codec of the raw log lines. About five
/// times faster to compress than deflate at its fastest level, for blocks some 20% larger; the import
/// compresses every line it reads, so the reading thread's time is what counts.
///
/// A block is a series of sequences: a token (literal length in its high four bits, match length
/// minus 4 in its low four; 15 means more length bytes follow, each added, until one below 255), the
/// literals, a two-byte little-endian offset back into what was decoded (1...65535), the match's
/// further length bytes. The last sequence has literals only; the last 5 bytes are always literals
/// and the last match starts at least 12 bytes before the end.
public enum LZ4Block {
    static let minMatch = 4
    static let lastLiterals = 5
    static let matchStartLimit = 12
    static let hashBits = 16
    static let maxOffset = 65535

    /// The most a block of `count` bytes can take once compressed.
    public static func bound(_ count: Int) -> Int { count + count / 255 + 16 }

    /// What the copy of literals may write past the end of a block (`wildCopy`).
    static let slack = 16

    /// Copies `n` bytes 16 at a time: up to 15 bytes more are read after the source's and written after
    /// the destination's (both have room for them). Literals are short: a call of `memcpy` for each
    /// cost more than the copy.
    @inline(__always)
    static func wildCopy(_ d: UnsafeMutablePointer<UInt8>, _ s: UnsafePointer<UInt8>, _ n: Int) {
        var i = 0
        repeat {
            UnsafeMutableRawPointer(d + i).storeBytes(of: UnsafeRawPointer(s + i).loadUnaligned(as: (UInt64, UInt64).self),
                                                      as: (UInt64, UInt64).self)
            i += 16
        } while i < n
    }

    public static func compress(_ input: [UInt8]) -> [UInt8] {
        input.withUnsafeBytes { compress($0) }
    }

    /// The compressed block, in an array of its own size (a block is kept queued for the writer: the
    /// room of the worst case would stay allocated with it).
    public static func compress(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        let room = UnsafeMutablePointer<UInt8>.allocate(capacity: bound(input.count) + slack)
        defer { room.deallocate() }
        let n = compress(input, into: room)
        return Array(UnsafeBufferPointer(start: room, count: n))
    }

    @inline(__always)
    static func read32(_ p: UnsafeRawPointer, _ i: Int) -> UInt32 {
        p.loadUnaligned(fromByteOffset: i, as: UInt32.self)
    }

    /// The hash of the five bytes at the start of `v` (lz4's for 64-bit machines): fewer candidates
    /// that share four bytes only, and longer matches found, than with four.
    @inline(__always)
    static func hash(_ v: UInt64) -> Int {
        Int(truncatingIfNeeded: ((v << 24) &* 889_523_592_379) >> UInt64(64 - hashBits))
    }

    @inline(__always)
    static func read64(_ p: UnsafeRawPointer, _ i: Int) -> UInt64 {
        p.loadUnaligned(fromByteOffset: i, as: UInt64.self)
    }

    /// Compresses into `dst`, which has room for `bound(input.count) + slack` bytes; returns the bytes
    /// written (at most `bound(input.count)`).
    static func compress(_ input: UnsafeRawBufferPointer, into dst: UnsafeMutablePointer<UInt8>) -> Int {
        let n = input.count
        guard n > 0, let base = input.baseAddress else {
            dst[0] = 0
            return 1
        }
        let src = base.assumingMemoryBound(to: UInt8.self)
        var op = 0
        var anchor = 0
        // A match may start below `startLimit` and end at `endLimit` at most.
        let startLimit = n - matchStartLimit + 1
        let endLimit = n - lastLiterals
        // Positions are kept as 32-bit numbers: a larger block (never made: a batch is a few MB) is all literals.
        if n > matchStartLimit && n < Int(Int32.max) {
            let table = UnsafeMutablePointer<Int32>.allocate(capacity: 1 << hashBits)
            defer { table.deallocate() }
            // Empty entries are far enough back never to be within an offset's reach.
            table.initialize(repeating: Int32.min, count: 1 << hashBits)
            var ip = 0
            search: while true {
                // Looks for four bytes seen before, stepping faster through data that does not repeat.
                var ref = 0
                var attempts = 1 << 6
                while true {
                    // Eight bytes readable: `ip` is below `startLimit`, 11 bytes before the end.
                    let w = read64(base, ip)
                    let h = hash(w)
                    ref = Int(table[h])
                    // Wrapping arithmetic here: positions are below 2^31 (checked above), and
                    // the checks of overflow were a tenth of the loop.
                    table[h] = Int32(truncatingIfNeeded: ip)
                    if ip &- ref <= maxOffset && read32(base, ref) == UInt32(truncatingIfNeeded: w) { break }
                    ip &+= attempts &>> 6
                    attempts &+= 1
                    if ip >= startLimit { break search }
                }
                // The match may begin earlier, among the literals.
                while ip > anchor && ref > 0 && src[ip - 1] == src[ref - 1] {
                    ip -= 1
                    ref -= 1
                }
                // And goes on as far as the bytes agree.
                var end = ip + minMatch
                var r = ref + minMatch
                while true {
                    if end + 8 <= endLimit {
                        let diff = base.loadUnaligned(fromByteOffset: end, as: UInt64.self)
                            ^ base.loadUnaligned(fromByteOffset: r, as: UInt64.self)
                        if diff != 0 {
                            end &+= diff.littleEndian.trailingZeroBitCount &>> 3
                            break
                        }
                        end &+= 8
                        r &+= 8
                    } else {
                        while end < endLimit && src[end] == src[r] {
                            end += 1
                            r += 1
                        }
                        break
                    }
                }
                op = sequence(src, count: n, literals: anchor..<ip, offset: ip - ref, match: end - ip, dst, op)
                ip = end
                anchor = end
                if ip >= startLimit { break }
                // Remembers a position inside the match, for the next ones.
                table[hash(read64(base, ip - 2))] = Int32(ip - 2)
            }
        }
        // The last literals.
        let lit = n - anchor
        op = length(lit, shift: 4, dst, op)
        (dst + op).update(from: src + anchor, count: lit)
        return op + lit
    }

    /// Writes a token (`shift` 4: literal length in the high bits) and its further length bytes.
    @inline(__always)
    static func length(_ len: Int, shift: UInt8, _ dst: UnsafeMutablePointer<UInt8>, _ at: Int) -> Int {
        if len < 15 {
            dst[at] = UInt8(len) << shift
            return at + 1
        }
        dst[at] = 15 << shift
        return rest(len - 15, dst, at + 1)
    }

    /// The length bytes after a token's 15: 255 while more follows, then what is left.
    @inline(__always)
    static func rest(_ len: Int, _ dst: UnsafeMutablePointer<UInt8>, _ at: Int) -> Int {
        var op = at
        var left = len
        while left >= 255 {
            dst[op] = 255
            op += 1
            left -= 255
        }
        dst[op] = UInt8(left)
        return op + 1
    }

    @inline(__always)
    static func sequence(_ src: UnsafePointer<UInt8>, count n: Int, literals: Range<Int>, offset: Int, match: Int,
                         _ dst: UnsafeMutablePointer<UInt8>, _ at: Int) -> Int {
        let token = at
        var op = length(literals.count, shift: 4, dst, at)
        if literals.upperBound + 16 <= n {
            wildCopy(dst + op, src + literals.lowerBound, literals.count)
        } else {
            (dst + op).update(from: src + literals.lowerBound, count: literals.count)
        }
        op += literals.count
        dst[op] = UInt8(truncatingIfNeeded: offset)
        dst[op + 1] = UInt8(truncatingIfNeeded: offset >> 8)
        op += 2
        let ml = match - minMatch
        if ml < 15 {
            dst[token] |= UInt8(ml)
            return op
        }
        dst[token] |= 15
        return rest(ml - 15, dst, op)
    }

    public struct Malformed: Error, CustomStringConvertible {
        public var description: String { "a damaged LZ4 block" }
    }

    /// Decompresses a block that holds `size` bytes. Damaged data throws, whatever it holds: every
    /// length and offset is checked against the input and the output.
    public static func decompress(_ input: [UInt8], size: Int) throws -> [UInt8] {
        try input.withUnsafeBufferPointer { src in
            try [UInt8](unsafeUninitializedCapacity: size) { out, count in
                count = 0
                let n = src.count
                var ip = 0
                var op = 0
                guard let dst = out.baseAddress else {
                    guard n == 1, src[0] == 0 else { throw Malformed() }
                    return
                }
                while true {
                    guard ip < n else { throw Malformed() }
                    let token = src[ip]
                    ip += 1
                    var lit = Int(token >> 4)
                    if lit == 15 { lit += try more(src, &ip) }
                    guard lit <= n - ip, lit <= size - op else { throw Malformed() }
                    if lit > 0 { (dst + op).update(from: src.baseAddress! + ip, count: lit) }
                    ip += lit
                    op += lit
                    if ip == n { break }
                    guard n - ip >= 2 else { throw Malformed() }
                    let offset = Int(src[ip]) | Int(src[ip + 1]) << 8
                    ip += 2
                    guard offset > 0, offset <= op else { throw Malformed() }
                    var ml = Int(token & 15)
                    if ml == 15 { ml += try more(src, &ip) }
                    ml += minMatch
                    guard ml <= size - op else { throw Malformed() }
                    if offset >= ml {
                        (dst + op).update(from: dst + op - offset, count: ml)
                    } else {
                        // Overlapping: the match repeats its last `offset` bytes.
                        for i in 0..<ml { dst[op + i] = dst[op - offset + i] }
                    }
                    op += ml
                }
                guard op == size else { throw Malformed() }
                count = op
            }
        }
    }

    /// Reads the length bytes after a token's 15 (`rest`'s), from `ip` on.
    @inline(__always)
    static func more(_ src: UnsafeBufferPointer<UInt8>, _ ip: inout Int) throws -> Int {
        var len = 0
        while true {
            guard ip < src.count else { throw Malformed() }
            let b = src[ip]
            ip += 1
            len += Int(b)
            if b != 255 { return len }
        }
    }
}
