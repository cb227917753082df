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

/// The state of one recipient of a message.
public struct RecipientState: Sendable, Codable, Equatable {
    public var recipient: String
    public var origRecipient: String?
    public var outcome: Outcome
    public var returned: Bool
    /// Delivery lines on the final leg (hops are not counted).
    public var attempts: Int
    public var firstAttempt: Int64?
    public var lastAttempt: Int64?
    public var dsn: String?
    public var relay: String?
    public var reason: String?
    public var agent: String?
    public var log: [Attempt]

    public init(recipient: String, origRecipient: String?) {
        self.recipient = recipient
        self.origRecipient = origRecipient
        outcome = .pending
        returned = false
        attempts = 0
        log = []
    }

    public var isFinal: Bool { outcome == .sent || outcome == .bounced || outcome == .expired }
}

/// How a message entered the queue.
public enum Origin: String, Sendable, Codable {
    case smtp, pickup, notification, unknown
}

/// Everything known about one message. Its `id` is also its database key.
public struct MessageState: Sendable, Codable {
    public var id: Int64
    public var host: String
    public var queueIDs: [String]
    public var messageID: String?
    public var sender: String?
    public var size: Int64?
    public var nrcpt: Int?
    public var clientHost: String?
    public var clientIP: String?
    public var saslUsername: String?
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
    /// Content-filter hops (deliveries to the filter), kept for the detective.
    public var hops: [Attempt] = []
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
        guard origin == .smtp, let ip = clientIP else { return false }
        if saslUsername != nil { return false }
        return !(ip.hasPrefix("127.") || ip == "::1" || ip.isEmpty)
    }

    public func direction(of r: RecipientState) -> Direction {
        Self.direction(agent: r.agent, receivedFromOutside: receivedFromOutside)
    }

    /// The direction of a delivery by `agent` of a message received from outside or not.
    public static func direction(agent: String?, receivedFromOutside: Bool) -> Direction {
        switch agent {
        case "smtp": return .outbound
        case "local", "virtual", "lmtp", "pipe": return receivedFromOutside ? .inbound : .local
        default: return receivedFromOutside ? .inbound : .outbound
        }
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
