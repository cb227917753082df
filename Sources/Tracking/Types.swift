#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PostfixLog

/// A queue id packed into a value (up to 24 characters), so that lookups allocate nothing.
public struct QueueKey: Hashable, Sendable, CustomStringConvertible {
    var a: UInt64 = 0
    var b: UInt64 = 0
    var c: UInt64 = 0
    /// Index of the host name in the tracker's host table.
    var host: UInt32

    init(host: UInt32, bytes: UnsafeBufferPointer<UInt8>, span: Span) {
        self.host = host
        let n = min(Int(span.count), 24)
        let s = Int(span.start)
        var words: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &words) { w in
            for i in 0..<n { w[i] = bytes[s + i] }
        }
        a = words.0
        b = words.1
        c = words.2
    }

    init(host: UInt32, string: String) {
        var s = string
        self = s.withUTF8 { QueueKey(host: host, bytes: $0, span: Span(start: 0, count: $0.count)) }
    }

    /// One word hashed instead of four: looked up several times per line.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(a ^ (b &* 0x9E37_79B9_7F4A_7C15) ^ (c &* 0xC2B2_AE3D_27D4_EB4F) ^ (UInt64(host) &* 0x1656_67B1_9E37_79F9))
    }

    public var description: String {
        var words = (a, b, c)
        return withUnsafeBytes(of: &words) { w in
            String(decoding: w.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

extension QueueKey: FastHashable {
    @inline(__always) var fastHash: UInt64 {
        a ^ (b &* 0x9E37_79B9_7F4A_7C15) ^ (c &* 0xC2B2_AE3D_27D4_EB4F) ^ (UInt64(host) &* 0x1656_67B1_9E37_79F9)
    }
}

/// What finally happened to one recipient of one message.
public enum Outcome: String, Sendable, Codable, CaseIterable {
    case sent, bounced, deferred, expired
    /// Seen in a delivery attempt that is neither final nor a deferral yet (only a hop so far).
    case pending
}

public enum Direction: String, Sendable, Codable {
    case outbound, inbound, local
}

/// One delivery attempt (a `to=` line), kept for the detective.
public struct Attempt: Sendable, Codable, Equatable {
    public var time: Int64
    public var status: String
    public var dsn: String?
    public var relay: String
    public var reply: String
    public var delay: Double?
    /// The agent that wrote the line (`smtp`, `lmtp`, `local`...).
    public var agent: String
    /// A content-filter hop, not a delivery to the recipient.
    public var hop: Bool

    public init(time: Int64, status: String, dsn: String?, relay: String, reply: String, delay: Double?, agent: String, hop: Bool) {
        self.time = time
        self.status = status
        self.dsn = dsn
        self.relay = relay
        self.reply = reply
        self.delay = delay
        self.agent = agent
        self.hop = hop
    }
}

/// Where one string is in a `TextBuffer`; absent (nil) when its length is negative.
public struct TextRef: Sendable, Equatable {
    public internal(set) var offset: Int32
    public internal(set) var length: Int32

    public static let none = TextRef(offset: 0, length: -1)
    @inlinable public var isNone: Bool { length < 0 }

    /// Its bytes in the bytes of its buffer (`withTextBytes`); empty for none.
    @inlinable
    public func bytes(in b: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        isNone ? UnsafeBufferPointer(start: nil, count: 0) : UnsafeBufferPointer(rebasing: b[Int(offset)..<Int(offset + length)])
    }
}

/// The strings of a message or of a recipient, their bytes one after the other in one buffer: one
/// allocation for all of them instead of one per string (and one retain and release per copy of the
/// value, one free when it goes). Every line of a log makes or changes some; there are a million lines
/// a second to follow. A string set again is appended (the old bytes stay until the value goes: a
/// message's strings are set once or twice).
public struct TextBuffer: Sendable {
    public internal(set) var bytes: [UInt8] = []

    init() {}

    @inlinable
    public func string(_ r: TextRef) -> String? {
        guard !r.isNone else { return nil }
        return bytes.withUnsafeBufferPointer { b in
            String(decoding: UnsafeBufferPointer(rebasing: b[Int(r.offset)..<Int(r.offset + r.length)]), as: UTF8.self)
        }
    }

    mutating func store(_ s: String?) -> TextRef {
        guard var s else { return .none }
        return s.withUTF8 { append(valid: $0) }
    }

    /// A span of a line: its bytes as they are when they are valid UTF-8 (almost always ASCII), else
    /// repaired as `String(decoding:)` repairs them.
    mutating func store(_ line: UnsafeBufferPointer<UInt8>, _ span: Span) -> TextRef {
        let r = span.range.clamped(to: 0..<line.count)
        let b = UnsafeBufferPointer(rebasing: line[r])
        if isASCII(b) { return append(valid: b) }
        return store(String(decoding: b, as: UTF8.self))
    }

    mutating func store(_ line: UnsafeBufferPointer<UInt8>, _ span: Span?) -> TextRef {
        guard let span else { return .none }
        return store(line, span)
    }

    @inline(__always)
    private mutating func append(valid b: UnsafeBufferPointer<UInt8>) -> TextRef {
        let offset = bytes.count
        bytes.append(contentsOf: b)
        return TextRef(offset: Int32(offset), length: Int32(b.count))
    }

    /// Whether a string equals the bytes of a span of a line (nil equals no span).
    func equals(_ r: TextRef, _ line: UnsafeBufferPointer<UInt8>, _ span: Span?) -> Bool {
        guard let span else { return r.isNone }
        guard !r.isNone else { return false }
        let range = span.range.clamped(to: 0..<line.count)
        let b = UnsafeBufferPointer(rebasing: line[range])
        if range.count == Int(r.length),
           range.isEmpty || bytes.withUnsafeBufferPointer({ memcmp($0.baseAddress! + Int(r.offset), b.baseAddress!, range.count) == 0 }) {
            return true
        }
        // Stored repaired (invalid UTF-8): compared as the strings they make.
        return !isASCII(b) && String(decoding: b, as: UTF8.self) == string(r)
    }
}

@inline(__always)
func isASCII(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
    var i = 0
    let n = b.count
    guard let p = b.baseAddress else { return true }
    while i + 8 <= n {
        if UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
        i += 8
    }
    while i < n {
        if p[i] & 0x80 != 0 { return false }
        i += 1
    }
    return true
}

/// One delivery attempt as a recipient keeps it: its strings in the recipient's `text`.
public struct AttemptEntry: Sendable {
    public var time: Int64
    public var delay: Double
    public var hasDelay: Bool
    public var hop: Bool
    public var status: TextRef
    public var dsn: TextRef
    public var relay: TextRef
    public var reply: TextRef
    public var agent: TextRef
}

extension TextBuffer {
    /// An attempt whose strings are in this buffer.
    public func attempt(_ e: AttemptEntry) -> Attempt {
        Attempt(time: e.time, status: string(e.status) ?? "", dsn: string(e.dsn), relay: string(e.relay) ?? "",
                reply: string(e.reply) ?? "", delay: e.hasDelay ? e.delay : nil, agent: string(e.agent) ?? "", hop: e.hop)
    }

    /// An attempt's strings stored in this buffer.
    mutating func entry(_ a: Attempt) -> AttemptEntry {
        AttemptEntry(time: a.time, delay: a.delay ?? 0, hasDelay: a.delay != nil, hop: a.hop, status: store(a.status),
                     dsn: store(a.dsn), relay: store(a.relay), reply: store(a.reply), agent: store(a.agent))
    }
}

/// The state of one recipient of a message. Its strings are kept in one buffer (`TextBuffer`); the
/// properties below read and set them.
public struct RecipientState: Sendable, Equatable {
    public internal(set) var text = TextBuffer()
    public internal(set) var recipientRef = TextRef.none
    public internal(set) var origRecipientRef = TextRef.none
    public internal(set) var dsnRef = TextRef.none
    public internal(set) var relayRef = TextRef.none
    public internal(set) var reasonRef = TextRef.none
    public internal(set) var agentRef = TextRef.none
    /// Its attempts, oldest first.
    public internal(set) var entries: [AttemptEntry] = []
    public var outcome: Outcome
    public var returned: Bool
    /// Delivery lines on the final leg (hops are not counted).
    public var attempts: Int
    public var firstAttempt: Int64?
    public var lastAttempt: Int64?

    public init(recipient: String, origRecipient: String?) {
        recipientRef = text.store(recipient)
        origRecipientRef = text.store(origRecipient)
        outcome = .pending
        returned = false
        attempts = 0
    }

    /// A recipient named by spans of a line; `room`: the bytes its first attempt will add.
    init(_ line: UnsafeBufferPointer<UInt8>, to: Span, origTo: Span?, room: Int) {
        text.bytes.reserveCapacity(Int(to.count) + Int(origTo?.count ?? 0) + room)
        recipientRef = text.store(line, to)
        origRecipientRef = text.store(line, origTo)
        outcome = .pending
        returned = false
        attempts = 0
    }

    public var recipient: String {
        get { text.string(recipientRef) ?? "" }
        set { recipientRef = text.store(newValue) }
    }
    public var origRecipient: String? {
        get { text.string(origRecipientRef) }
        set { origRecipientRef = text.store(newValue) }
    }
    public var dsn: String? {
        get { text.string(dsnRef) }
        set { dsnRef = text.store(newValue) }
    }
    public var relay: String? {
        get { text.string(relayRef) }
        set { relayRef = text.store(newValue) }
    }
    public var reason: String? {
        get { text.string(reasonRef) }
        set { reasonRef = text.store(newValue) }
    }
    public var agent: String? {
        get { text.string(agentRef) }
        set { agentRef = text.store(newValue) }
    }

    /// The bytes of its buffer, for `TextRef.bytes(in:)`: one retain of the buffer for all its strings.
    @inlinable
    public func withTextBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        text.bytes.withUnsafeBufferPointer(body)
    }

    /// Every attempt, oldest first.
    public var log: [Attempt] {
        get { entries.map { text.attempt($0) } }
        set { entries = newValue.map { text.entry($0) } }
    }

    /// The delay of the last attempt that was not a hop, of a recipient's attempts read in place.
    public static func lastDelay(_ entries: UnsafeBufferPointer<AttemptEntry>) -> Double? {
        var i = entries.count - 1
        while i >= 0 {
            if !entries[i].hop { return entries[i].hasDelay ? entries[i].delay : nil }
            i -= 1
        }
        return nil
    }

    public var isFinal: Bool { outcome == .sent || outcome == .bounced || outcome == .expired }

    public static func == (a: RecipientState, b: RecipientState) -> Bool {
        a.recipient == b.recipient && a.origRecipient == b.origRecipient && a.outcome == b.outcome && a.returned == b.returned
            && a.attempts == b.attempts && a.firstAttempt == b.firstAttempt && a.lastAttempt == b.lastAttempt && a.dsn == b.dsn
            && a.relay == b.relay && a.reason == b.reason && a.agent == b.agent && a.log == b.log
    }
}

/// How a message entered the queue.
public enum Origin: String, Sendable, Codable {
    case smtp, pickup, notification, unknown
}

/// Everything known about one message. Its `id` is also its database key.
public struct MessageState: Sendable {
    public var id: Int64
    public var host: String
    public var queueIDs: [String]
    /// The message's strings (`TextBuffer`): message-id, sender, client.
    public internal(set) var text = TextBuffer()
    public internal(set) var messageIDRef = TextRef.none
    public internal(set) var senderRef = TextRef.none
    public internal(set) var clientHostRef = TextRef.none
    public internal(set) var clientIPRef = TextRef.none
    public internal(set) var saslUsernameRef = TextRef.none
    public var size: Int64?
    public var nrcpt: Int?
    public var origin: Origin
    /// The original message of a non-delivery (or delay) notification.
    public var parentID: Int64?
    public var firstSeen: Int64
    public var lastSeen: Int64
    public var recipients: [RecipientState]
    /// Queues of this message that qmgr has not removed yet.
    public var liveQueues: [String]
    public var complete: Bool
    /// The message was expired by qmgr (`status=expired, returned to sender`).
    public var expired: Bool
    /// A notification (NDR) was sent for failures of this message.
    public var notified: Bool
    /// Queue ids named by a content-filter hop (`queued as X`) that have not shown up yet.
    public var awaitingChildren: [String] = []
    /// Content-filter hops (deliveries to the filter), kept for the detective: their strings are in
    /// `text`, as a recipient's attempts are in its buffer (a hop's relay and reply made two strings).
    public internal(set) var hopEntries: [AttemptEntry] = []
    /// Rejections logged with this message's queue id (a refused recipient, a milter).
    public var rejected: Bool = false
    /// Saved before: the store takes back what it counted for it then, before counting it anew.
    public var persisted: Bool = false
    /// Changed since the tracker's last drain (listed in its `dirty`).
    var drainPending: Bool = false

    public init(id: Int64, host: String, queueID: String, time: Int64) {
        self.id = id
        self.host = host
        queueIDs = [queueID]
        origin = .unknown
        firstSeen = time
        lastSeen = time
        recipients = []
        // The same storage as `queueIDs` until one of them changes: one array allocated, not two.
        liveQueues = queueIDs
        complete = false
        expired = false
        notified = false
        // Message-id, sender, client name and address: most fit (130 bytes on average in a large log).
        text.bytes.reserveCapacity(192)
    }

    /// The content-filter hops, oldest first.
    public var hops: [Attempt] {
        get { hopEntries.map { text.attempt($0) } }
        set { hopEntries = newValue.map { text.entry($0) } }
    }

    public var messageID: String? {
        get { text.string(messageIDRef) }
        set { messageIDRef = text.store(newValue) }
    }
    public var sender: String? {
        get { text.string(senderRef) }
        set { senderRef = text.store(newValue) }
    }
    public var clientHost: String? {
        get { text.string(clientHostRef) }
        set { clientHostRef = text.store(newValue) }
    }
    public var clientIP: String? {
        get { text.string(clientIPRef) }
        set { clientIPRef = text.store(newValue) }
    }
    public var saslUsername: String? {
        get { text.string(saslUsernameRef) }
        set { saslUsernameRef = text.store(newValue) }
    }

    /// The bytes of its buffer, for `TextRef.bytes(in:)`: one retain of the buffer for all its strings.
    @inlinable
    public func withTextBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        text.bytes.withUnsafeBufferPointer(body)
    }

    public var firstQueueID: String { queueIDs[0] }

    /// qmgr removed this queue. The last one is dropped without copying the storage it shares.
    mutating func removeLiveQueue(_ q: String) {
        if liveQueues.count == 1 {
            if liveQueues[0] == q { liveQueues = [] }
        } else {
            liveQueues.removeAll { $0 == q }
        }
    }

    /// Whether the client was outside this server (not loopback, not authenticated).
    public var receivedFromOutside: Bool {
        withTextBytes { Self.receivedFromOutside(origin: origin, clientIP: clientIPRef.bytes(in: $0), authenticated: !saslUsernameRef.isNone) }
    }

    /// The same, of a message's fields (the store's writer reads them in place: calling a property of
    /// the message copied it first).
    public static func receivedFromOutside(origin: Origin, clientIP ip: UnsafeBufferPointer<UInt8>, authenticated: Bool) -> Bool {
        guard origin == .smtp, !ip.isEmpty, !authenticated else { return false }
        let loopback = ip.count >= 4 && ip[0] == UInt8(ascii: "1") && ip[1] == UInt8(ascii: "2") && ip[2] == UInt8(ascii: "7")
            && ip[3] == UInt8(ascii: ".")
        let v6 = ip.count == 3 && ip[0] == UInt8(ascii: ":") && ip[1] == UInt8(ascii: ":") && ip[2] == UInt8(ascii: "1")
        return !(loopback || v6)
    }

    public func direction(of r: RecipientState) -> Direction {
        Self.direction(agent: r.agent, receivedFromOutside: receivedFromOutside)
    }

    /// The direction of a delivery by `agent` of a message received from outside or not.
    public static func direction(agent: String?, receivedFromOutside: Bool) -> Direction {
        var a = agent ?? ""
        return a.withUTF8 { direction(agent: $0, receivedFromOutside: receivedFromOutside) }
    }

    /// The same, of an agent's name as bytes (a recipient's buffer; empty for none).
    public static func direction(agent: UnsafeBufferPointer<UInt8>, receivedFromOutside: Bool) -> Direction {
        func eq(_ lit: StaticString) -> Bool {
            agent.count == lit.utf8CodeUnitCount && (agent.isEmpty || memcmp(agent.baseAddress!, lit.utf8Start, agent.count) == 0)
        }
        if eq("smtp") { return .outbound }
        if eq("local") || eq("virtual") || eq("lmtp") || eq("pipe") { return receivedFromOutside ? .inbound : .local }
        return receivedFromOutside ? .inbound : .outbound
    }
}

/// A rejection before a message got a queue (or by a milter/cleanup).
public struct Rejection: Sendable, Codable, Equatable {
    public var time: Int64
    public var host: String
    public var queueID: String?
    /// `smtpd`, `postscreen`, `cleanup`.
    public var daemon: String
    public var stage: String
    public var clientHost: String?
    public var clientIP: String?
    public var sender: String?
    public var recipient: String?
    public var code: Int?
    public var dsn: String?
    public var reason: String
    public var line: String
}

/// A login attempt seen in the logs: Postfix SMTP AUTH (SASL) or a Dovecot login (IMAP, POP3,
/// submission, ManageSieve).
public struct AuthEvent: Sendable, Codable, Equatable {
    public var time: Int64
    public var ip: String
    public var user: String?
    /// `smtp`, `imap`, `pop3`, `submission`, `managesieve`...
    public var proto: String
    public var success: Bool
    /// Failed attempts the line stands for (Dovecot: "auth failed, 3 attempts").
    public var count: Int
    public var reason: String?

    public init(time: Int64, ip: String, user: String?, proto: String, success: Bool, count: Int = 1, reason: String? = nil) {
        self.time = time
        self.ip = ip
        self.user = user
        self.proto = proto
        self.success = success
        self.count = count
        self.reason = reason
    }
}
