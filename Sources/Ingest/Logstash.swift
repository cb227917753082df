/// Logstash's default JSON output: one object a line with `@timestamp`, `message` and
/// `log.file.path` (nested as `"log":{"file":{"path":...}}`). Only the strings needed are decoded.
public enum Logstash {
    /// The decoded value of the first top-level-or-nested string field `key`, or nil.
    public static func stringField(_ key: String, in line: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        let pattern = Array("\"\(key)\"".utf8)
        guard line.count > pattern.count else { return nil }
        var i = 0
        let n = line.count
        while i + pattern.count <= n {
            if line[i] == pattern[0] && line[i..<(i + pattern.count)].elementsEqual(pattern) {
                var j = i + pattern.count
                while j < n, line[j] == 0x20 { j += 1 }
                guard j < n, line[j] == UInt8(ascii: ":") else { i += 1; continue }
                j += 1
                while j < n, line[j] == 0x20 { j += 1 }
                guard j < n, line[j] == UInt8(ascii: "\"") else { return nil }
                return decodeString(line, from: j + 1)
            }
            // skip over string literals so a key inside a value is not matched
            if line[i] == UInt8(ascii: "\"") {
                var j = i + 1
                while j < n, line[j] != UInt8(ascii: "\"") { j += line[j] == UInt8(ascii: "\\") ? 2 : 1 }
                if j < n, j + 1 < n {
                    // a key is followed by ':'; values are skipped as a whole
                    i = j + 1
                    continue
                }
            }
            i += 1
        }
        return nil
    }

    /// The `message` of a Logstash event with its `@timestamp` put in front (RFC 3339), so that
    /// the parser sees an ordinary `prepend-rfc3339` line.
    public static func line(from json: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        guard var message = stringField("message", in: json) else { return nil }
        if let ts = stringField("@timestamp", in: json), !ts.isEmpty {
            // A message that already starts with a time keeps it.
            let startsWithTime = message.first.map { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) } ?? false
            if startsWithTime && hasSyslogTime(message) { return message }
            message = ts + [0x20] + message
        }
        return message
    }

    private static func hasSyslogTime(_ m: [UInt8]) -> Bool {
        // `Mmm dd hh:mm:ss` or `YYYY-MM-DDThh`
        if m.count > 15, m[3] == 0x20, m[9] == 0x3A || m[8] == 0x3A { return true }
        if m.count > 19, m[4] == UInt8(ascii: "-"), m[10] == UInt8(ascii: "T") { return true }
        return false
    }

    static func decodeString(_ b: UnsafeBufferPointer<UInt8>, from start: Int) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        var i = start
        let n = b.count
        while i < n {
            let c = b[i]
            if c == UInt8(ascii: "\"") { return out }
            if c != UInt8(ascii: "\\") { out.append(c); i += 1; continue }
            guard i + 1 < n else { return nil }
            let e = b[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard i + 4 <= n, var v = hex4(b, i) else { return nil }
                i += 4
                if v >= 0xD800 && v < 0xDC00, i + 6 <= n, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u"),
                   let lo = hex4(b, i + 2), lo >= 0xDC00 && lo < 0xE000 {
                    v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                    i += 6
                }
                let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: out.append(e)
            }
        }
        return nil
    }

    private static func hex4(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt32? {
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = b[i + k]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x37)
            case 0x61...0x66: d = UInt32(c - 0x57)
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }
}
