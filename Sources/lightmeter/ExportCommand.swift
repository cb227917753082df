import ArgumentParser
import Foundation
import PostfixLog
import Store

/// `lightmeter export`: one row per (message, recipient) outcome and one per rejection.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lightmeter export",
        abstract: "Print every (message, recipient) outcome and every rejection, as JSON lines or CSV.",
        discussion: """
            Fields: queue_id, queue_ids, message_id, sender, recipient, orig_recipient, status \
            (sent|bounced|deferred|expired|rejected), returned, attempts, first_seen, last_seen (RFC 3339, UTC), dsn, \
            relay, direction (outbound|inbound|local), client_ip, size, reason.
            """
    )

    @OptionGroup var period: PeriodOptions

    @Option(name: .customLong("format", withSingleDash: true), help: "jsonl (default) or csv.")
    var format = "jsonl"

    func validate() throws {
        guard format == "jsonl" || format == "csv" else { throw ValidationError("-format must be jsonl or csv") }
    }

    func run() throws {
        let db = try period.open()
        let (lo, hi) = period.bounds
        var out = OutputBuffer()
        if format == "csv" {
            out.write("queue_id,queue_ids,message_id,sender,recipient,orig_recipient,status,returned,attempts,first_seen,last_seen,dsn,relay,direction,client_ip,size,reason\n")
        }
        try db.exportRows(from: lo, to: hi) { r in
            if format == "csv" { out.write(csvLine(r)) } else { out.write(jsonLine(r)) }
        }
        out.flush()
    }
}

/// RFC 3339 in UTC.
func rfc3339(_ t: Int64) -> String {
    let days = t >= 0 ? t / 86400 : (t - 86399) / 86400
    let rem = t - days * 86400
    let (y, m, d) = civilFromDays(days)
    func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(y)-\(two(m))-\(two(d))T\(two(rem / 3600)):\(two(rem % 3600 / 60)):\(two(rem % 60))Z"
}

func jsonLine(_ r: ExportRow) -> String {
    let o = JSONWriter()
    o.object {
        o.key("queue_id", r.queueID)
        o.key("queue_ids") { o.array(r.queueIDs) }
        o.key("message_id", r.messageID)
        o.key("sender", r.sender)
        o.key("recipient", r.recipient)
        o.key("orig_recipient", r.origRecipient)
        o.key("status", r.status)
        o.key("returned", r.returned)
        o.key("attempts", r.attempts)
        o.key("first_seen", rfc3339(r.firstSeen))
        o.key("last_seen", rfc3339(r.lastSeen))
        o.key("dsn", r.dsn)
        o.key("relay", r.relay)
        o.key("direction", r.direction)
        o.key("client_ip", r.clientIP)
        if let s = r.size { o.key("size", s) } else { o.key("size", nil as String?) }
        o.key("reason", r.reason)
    }
    return o.text + "\n"
}

func csvLine(_ r: ExportRow) -> String {
    func f(_ s: String?) -> String {
        guard let s else { return "" }
        if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + s.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
        }
        return s
    }
    let fields: [String?] = [
        r.queueID, r.queueIDs.joined(separator: ";"), r.messageID, r.sender, r.recipient, r.origRecipient, r.status,
        r.returned ? "true" : "false", String(r.attempts), rfc3339(r.firstSeen), rfc3339(r.lastSeen), r.dsn, r.relay,
        r.direction, r.clientIP, r.size.map(String.init), r.reason,
    ]
    return fields.map(f).joined(separator: ",") + "\n"
}

/// Buffered standard output.
struct OutputBuffer {
    var buffer: [UInt8] = []
    mutating func write(_ s: String) {
        buffer.append(contentsOf: s.utf8)
        if buffer.count > 1 << 16 { flush() }
    }
    mutating func flush() {
        buffer.withUnsafeBytes { b in
            var off = 0
            while off < b.count {
                let n = Glibc.write(1, b.baseAddress! + off, b.count - off)
                if n <= 0 { break }
                off += n
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
