/// Turns syslog messages (RFC 5424 and RFC 3164) into lines of the forms the parser reads.
public enum Syslog {
    /// A traditional or RFC 3339 log line for one syslog message, or nil when it is not syslog.
    ///
    /// - RFC 3164 `<PRI>Mmm dd hh:mm:ss host tag[pid]: msg` keeps its form (the parser skips `<PRI>`).
    /// - RFC 5424 `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG` becomes `TIMESTAMP HOST APP[PROCID]: MSG`.
    public static func line(from message: [UInt8]) -> [UInt8] {
        var m = message[...]
        while let last = m.last, last == 0x0A || last == 0x0D || last == 0 { m = m.dropLast() }
        guard m.first == UInt8(ascii: "<"), let close = m.firstIndex(of: UInt8(ascii: ">")), close - m.startIndex <= 4 else {
            return Array(m)
        }
        var rest = m[(close + 1)...]
        // RFC 5424: a version number and a space after the priority.
        guard rest.count > 2, rest.first == UInt8(ascii: "1"), rest[rest.startIndex + 1] == UInt8(ascii: " ") else {
            return Array(m)
        }
        rest = rest.dropFirst(2)
        func field() -> ArraySlice<UInt8> {
            let end = rest.firstIndex(of: UInt8(ascii: " ")) ?? rest.endIndex
            let f = rest[rest.startIndex..<end]
            rest = end < rest.endIndex ? rest[(end + 1)...] : rest[end...]
            return f
        }
        let timestamp = field(), host = field(), app = field(), procid = field()
        _ = field()  // MSGID
        // Structured data: `-` or one or more `[...]` elements (with escaped `]` inside).
        if rest.first == UInt8(ascii: "-") {
            rest = rest.dropFirst()
        } else {
            while rest.first == UInt8(ascii: "[") {
                var i = rest.startIndex + 1
                var escaped = false
                while i < rest.endIndex {
                    let b = rest[i]
                    if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "]") { break }
                    i += 1
                }
                rest = i < rest.endIndex ? rest[(i + 1)...] : rest[i...]
            }
        }
        if rest.first == UInt8(ascii: " ") { rest = rest.dropFirst() }
        // A UTF-8 BOM may start the message.
        if rest.starts(with: [0xEF, 0xBB, 0xBF]) { rest = rest.dropFirst(3) }
        var out: [UInt8] = []
        out.reserveCapacity(m.count)
        out += timestamp.elementsEqual([UInt8(ascii: "-")]) ? [] : Array(timestamp) + [0x20]
        out += host.elementsEqual([UInt8(ascii: "-")]) ? Array("localhost".utf8) : Array(host)
        out.append(0x20)
        out += app.elementsEqual([UInt8(ascii: "-")]) ? Array("unknown".utf8) : Array(app)
        if !procid.isEmpty, !procid.elementsEqual([UInt8(ascii: "-")]) {
            out.append(UInt8(ascii: "["))
            out += procid
            out.append(UInt8(ascii: "]"))
        }
        out += Array(": ".utf8)
        out += rest
        return out
    }
}

/// Splits a TCP syslog stream into messages: octet counting (`LEN SP MSG`, RFC 6587) when a frame
/// starts with digits and a space, newline framing otherwise.
public struct SyslogFramer {
    private var buffer: [UInt8] = []
    public var maxMessage = 64 * 1024

    public init() {}

    public mutating func feed(_ bytes: some Collection<UInt8>, _ emit: ([UInt8]) -> Void) {
        buffer.append(contentsOf: bytes)
        var pos = 0
        while pos < buffer.count {
            // Octet counting?
            var i = pos
            var length = 0
            while i < buffer.count, buffer[i] >= 0x30, buffer[i] <= 0x39, i - pos < 7 {
                length = length * 10 + Int(buffer[i] - 0x30)
                i += 1
            }
            if i > pos, i < buffer.count, buffer[i] == 0x20, length > 0 {
                let start = i + 1
                guard buffer.count - start >= length else { break }
                emit(Array(buffer[start..<(start + min(length, maxMessage))]))
                pos = start + length
                continue
            }
            if i == buffer.count && i > pos { break }  // digits only so far: wait
            guard let nl = buffer[pos...].firstIndex(of: 0x0A) else {
                if buffer.count - pos > maxMessage {
                    emit(Array(buffer[pos..<(pos + maxMessage)]))
                    pos = buffer.count
                }
                break
            }
            if nl > pos { emit(Array(buffer[pos..<min(nl, pos + maxMessage)])) }
            pos = nl + 1
        }
        buffer.removeFirst(pos)
    }
}
