/// One parsed log line: a header and a typed payload.
public struct Record: Sendable {
    public let header: Header
    public let payload: Payload
    /// Whether the payload is `.unsupported`, known where the record is made: reading the case of this
    /// many-cased enum from a record takes a copy of its 173 bytes first (for each line, for the
    /// import's counts).
    public let isUnsupported: Bool

    public init(header: Header, payload: Payload) {
        self.header = header
        self.payload = payload
        if case .unsupported = payload { isUnsupported = true } else { isUnsupported = false }
    }

    @inline(__always)
    init(header: Header, payload: Payload, isUnsupported: Bool) {
        self.header = header
        self.payload = payload
        self.isUnsupported = isUnsupported
    }

    /// Whether a Postfix daemon wrote this line.
    public var isPostfix: Bool { header.process.isPostfix }

    /// A short stable name of what the line is: `smtp.delivery`, `smtpd.connect`, `unsupported`...
    public var kind: String { payload.kind }

}

/// The time written at the start of a line.
public struct LogTime: Hashable, Sendable {
    /// 0 when the line does not say (traditional syslog): the caller supplies the year.
    public var year: Int16
    public var month: UInt8
    public var day: UInt8
    public var hour: UInt8
    public var minute: UInt8
    public var second: UInt8
    public var nanosecond: Int32
    /// Offset from UTC in minutes, when the line says (RFC 3339).
    public var utcOffsetMinutes: Int16?

    public init(year: Int16 = 0, month: UInt8, day: UInt8, hour: UInt8, minute: UInt8, second: UInt8,
                nanosecond: Int32 = 0, utcOffsetMinutes: Int16? = nil) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.nanosecond = nanosecond
        self.utcOffsetMinutes = utcOffsetMinutes
    }

    public static let unknown = LogTime(month: 0, day: 0, hour: 0, minute: 0, second: 0)

    public var isKnown: Bool { month != 0 }
}

/// The writer of a line: `postfix/smtp[123]`, `postfix-out/qmgr`, `dovecot`...
public struct Process: Sendable {
    public var daemon: Daemon
    /// The whole process name as written (`postfix-secondary/submission/smtpd`).
    public var name: Span
    /// The syslog name's first part when it is not plain `postfix` (`postfix-secondary`, `sender-cleanup`).
    public var instance: Span?
    /// A service name between the instance and the daemon (`submission` in `postfix/submission/smtpd`).
    public var service: Span?
    public var pid: Int32?

    public init(daemon: Daemon, name: Span, instance: Span? = nil, service: Span? = nil, pid: Int32? = nil) {
        self.daemon = daemon
        self.name = name
        self.instance = instance
        self.service = service
        self.pid = pid
    }

    public var isPostfix: Bool { daemon.isPostfix }
}

public struct Header: Sendable {
    public var time: LogTime
    /// Empty when the line has no host field.
    public var host: Span
    public var process: Process
    /// The message after `process[pid]: `.
    public var message: Span

    public init(time: LogTime, host: Span, process: Process, message: Span) {
        self.time = time
        self.host = host
        self.process = process
        self.message = message
    }
}

public enum Daemon: String, Sendable, CaseIterable {
    // Postfix delivery agents
    case smtp, lmtp, local, virtual, pipe, error, discard, retry
    // Other Postfix daemons and commands
    case qmgr, oqmgr, cleanup, smtpd, postscreen, bounce, `defer`, trace, pickup, master, postsuper, anvil
    case scache, dnsblog, tlsproxy, verify, trivialRewrite = "trivial-rewrite", postfixScript = "postfix-script"
    case postlog, proxymap, tlsmgr, postmap, postalias, sendmail, postdrop, postqueue, showq, flush, spawn
    case qmqpd, postconf, postmulti, postkick, postlock, postcat, postfix
    /// A `postfix/...` name this parser does not know.
    case unknownPostfix = "postfix-other"
    // Others that share mail logs
    case dovecot, amavis, opendkim, opendmarc, policydSpf = "policyd-spf", postgrey, spamd, clamav
    case other

    public var isPostfix: Bool {
        switch self {
        case .dovecot, .amavis, .opendkim, .opendmarc, .policydSpf, .postgrey, .spamd, .clamav, .other: return false
        default: return true
        }
    }

    public var isDeliveryAgent: Bool {
        switch self {
        case .smtp, .lmtp, .local, .virtual, .pipe, .error, .discard, .retry: return true
        default: return false
        }
    }
}

/// A Postfix queue id, short (hex) or long form, as a span of the line.
public typealias QueueID = Span

/// `host[ip]` or `host[ip]:port` as written by smtpd and smtp.
public struct Peer: Sendable, Hashable {
    public var host: Span
    public var ip: Span
    public var port: Int32?

    public init(host: Span, ip: Span, port: Int32? = nil) {
        self.host = host
        self.ip = ip
        self.port = port
    }
}

/// An enhanced status code `x.y.z`.
public struct DSN: Sendable, Hashable, CustomStringConvertible {
    public var klass: UInt8
    public var subject: UInt16
    public var detail: UInt16

    public init(klass: UInt8, subject: UInt16, detail: UInt16) {
        self.klass = klass
        self.subject = subject
        self.detail = detail
    }

    /// "class.subject.detail", written digit by digit: the tracker makes one for every delivery
    /// attempt, where string interpolation cost more than the rest of the attempt.
    public var description: String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { p in
            var n = 0
            func put(_ v: UInt16) {
                var digits: (UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0)
                var count = 0
                var x = v
                repeat {
                    withUnsafeMutableBytes(of: &digits) { $0[count] = UInt8(ascii: "0") + UInt8(x % 10) }
                    x /= 10
                    count += 1
                } while x > 0
                withUnsafeBytes(of: &digits) { d in
                    for i in stride(from: count - 1, through: 0, by: -1) {
                        p[n] = d[i]
                        n += 1
                    }
                }
            }
            put(UInt16(klass))
            p[n] = UInt8(ascii: ".")
            n += 1
            put(subject)
            p[n] = UInt8(ascii: ".")
            n += 1
            put(detail)
            return String(decoding: UnsafeBufferPointer(rebasing: p[0..<n]), as: UTF8.self)
        }
    }
}

public enum DeliveryStatus: String, Sendable {
    case sent, deferred, bounced, expired, undeliverable, deliverable
    /// `undeliverable-but-not-cached` and other verify-only variants.
    case undeliverableNotCached = "undeliverable-but-not-cached"
    case softBounce = "SOFTBOUNCE"
}

public enum RelayKind: Sendable, Hashable {
    case none, local, host, path, name
}

public struct Relay: Sendable, Hashable {
    public var kind: RelayKind
    /// The whole relay field as written.
    public var text: Span
    /// The host name (or transport name such as `dovecot`, `local`).
    public var host: Span
    /// The ip or path between brackets.
    public var address: Span?
    public var port: Int32?

    public init(kind: RelayKind, text: Span, host: Span, address: Span? = nil, port: Int32? = nil) {
        self.kind = kind
        self.text = text
        self.host = host
        self.address = address
        self.port = port
    }
}

/// `delays=a/b/c/d`.
public struct Delays: Sendable, Hashable {
    public var beforeQueue: Double
    public var inQueue: Double
    public var connection: Double
    public var transmission: Double

    public init(beforeQueue: Double, inQueue: Double, connection: Double, transmission: Double) {
        self.beforeQueue = beforeQueue
        self.inQueue = inQueue
        self.connection = connection
        self.transmission = transmission
    }
}

/// A delivery attempt written by smtp, lmtp, local, virtual, pipe, error, discard or retry.
public struct Delivery: Sendable {
    public var queueID: QueueID
    public var to: Span
    public var origTo: Span?
    public var relay: Relay
    public var connUse: Int32?
    public var delay: Double?
    public var delays: Delays?
    public var dsn: DSN?
    public var status: DeliveryStatus
    /// The text between the parentheses after the status.
    public var reply: Span
    /// `queued as NEWQID` in the reply: the next hop of a content filter or relay.
    public var queuedAs: QueueID?
    /// The reply has the amavis form `from MTA(smtp:[ip]:port): ...`.
    public var viaFilter: Bool
    /// An id the remote server gave the message (`id=...`, `<msgid> [InternalId=...]`, gsmtp ids...).
    public var remoteID: Span?
    /// The SMTP reply code at the start of the reply, or of a `host X said: NNN` reply.
    public var replyCode: Int16?
}

/// `QID: from=<sender>, size=N, nrcpt=N (queue active)`
public struct QueueActive: Sendable {
    public var queueID: QueueID
    public var from: Span
    public var size: Int64
    public var nrcpt: Int32
}

public enum MessageIDKind: String, Sendable {
    case valid, empty, corrupted
}

public enum CleanupAction: String, Sendable {
    case reject, warning, info, hold, discard, replace, redirect, filter, prepend, strip, bcc
    case milterReject = "milter-reject", milterHold = "milter-hold", milterDiscard = "milter-discard"
    case milterRedirect = "milter-redirect", milterHeaderRedirect = "milter-header-redirect"
    case milterInfo = "milter-info"
}

/// A cleanup action from header_checks, body_checks or a milter.
public struct CleanupEvent: Sendable {
    public var queueID: QueueID
    public var action: CleanupAction
    /// `header`, `body` or the SMTP stage of a milter (`END-OF-MESSAGE`).
    public var what: Span
    /// For header/body checks, the header or body line text; for milters, empty.
    public var text: Span
    public var client: Peer?
    public var clientText: Span?
    public var code: Int16?
    public var dsn: DSN?
    public var reason: Span?
    public var from: Span?
    public var to: Span?
    public var proto: Span?
    public var helo: Span?
}

/// The common tail `from=<..> to=<..> proto=X helo=<..>` of rejects and checks.
public struct EnvelopeTail: Sendable {
    public var from: Span?
    public var to: Span?
    public var proto: Span?
    public var helo: Span?
}

public enum RejectAction: String, Sendable {
    case reject, `defer`, hold, discard, filter, redirect, warn, info, bcc
    case deferIfPermit = "defer_if_permit", deferIfReject = "defer_if_reject"
}

/// `NOQUEUE: reject: RCPT from host[ip]: 554 5.7.1 <addr>: reason; from=<> to=<> proto= helo=<>` and
/// `QID: reject: ...` (smtpd, postscreen, cleanup, and the same shapes with hold/discard/filter...).
public struct Reject: Sendable {
    public var queueID: QueueID?
    public var action: RejectAction
    /// `RCPT`, `MAIL`, `CONNECT`, `DATA`, `END-OF-MESSAGE`, `VRFY`, `ETRN`, `HELO`...
    public var stage: Span
    public var client: Peer
    public var code: Int16?
    public var dsn: DSN?
    /// The address the reply names (`<user@example.com>:`), if any.
    public var address: Span?
    public var reason: Span
    public var from: Span?
    public var to: Span?
    public var proto: Span?
    public var helo: Span?
}

/// `ehlo=1 auth=0/1 ... commands=5/6` of a disconnect line.
public struct CommandCounters: Sendable, Hashable {
    public var authSuccess: Int32 = 0
    public var authAttempts: Int32 = 0
    public var commandsSuccess: Int32 = 0
    public var commandsTotal: Int32 = 0
    public var mail: Int32 = 0
    public var rcpt: Int32 = 0
    public var data: Int32 = 0
    /// The whole counters text.
    public var text: Span = .empty
    public init() {}
}

public struct ClientLine: Sendable {
    public var queueID: QueueID
    public var client: Peer
    public var saslMethod: Span?
    public var saslUsername: Span?
    public var saslSender: Span?
    /// `orig_queue_id=`, `orig_client=` of XCLIENT/XFORWARD forms.
    public var origQueueID: Span?
    public var origClient: Span?
}

public struct SASLFailure: Sendable {
    public var client: Peer
    public var mechanism: Span
    public var reason: Span
    /// `sasl_username=` when Postfix logs it.
    public var username: Span?
}

public enum TLSDirection: Sendable { case incoming, outgoing }

public struct TLSEstablished: Sendable {
    public var direction: TLSDirection
    /// `Anonymous`, `Trusted`, `Verified`, `Untrusted`.
    public var trust: Span
    public var peer: Peer
    public var proto: Span
    public var cipher: Span
}

public enum SmtpdEvent: Sendable {
    case connect(Peer)
    case disconnect(Peer, CommandCounters)
    case client(ClientLine)
    case lostConnection(after: Span, Peer)
    case timeout(after: Span, Peer)
    case saslFailed(SASLFailure)
    case tooManyErrors(after: Span, Peer)
    case improperPipelining(after: Span, Peer)
    case tls(TLSEstablished)
    /// `warning: hostname X does not resolve to address IP`, `address not listed for hostname`.
    case dnsMismatch(Span)
    /// `warning: non-SMTP command from host[ip]: text`
    case nonSMTPCommand(Peer, Span)
    /// `QID: info: ...`, `NOQUEUE: ...` lines of the smtpd that are not rejects.
    case note(Span)
    /// `abort: ...`, `proxy-reject`, `enabling PIX workarounds`, `too many connections`...
    case sessionNote(Span)
}

public enum PostscreenAction: String, Sendable {
    case connect = "CONNECT", passNew = "PASS NEW", passOld = "PASS OLD", dnsblRank = "DNSBL rank"
    case pregreet = "PREGREET", hangup = "HANGUP", commandPipelining = "COMMAND PIPELINING"
    case commandTimeLimit = "COMMAND TIME LIMIT", commandCountLimit = "COMMAND COUNT LIMIT"
    case commandLengthLimit = "COMMAND LENGTH LIMIT", nonSMTPCommand = "NON-SMTP COMMAND", bareNewline = "BARE NEWLINE"
    case disconnect = "DISCONNECT", allowlisted = "ALLOWLISTED", denylisted = "DENYLISTED"
    case allowlistVeto = "ALLOWLIST VETO", reject = "NOQUEUE", cacheCleanup = "cache", warning = "WARNING"

    public var kindName: String {
        switch self {
        case .connect: return "connect"
        case .passNew: return "pass-new"
        case .passOld: return "pass-old"
        case .dnsblRank: return "dnsbl-rank"
        case .pregreet: return "pregreet"
        case .hangup: return "hangup"
        case .commandPipelining: return "command-pipelining"
        case .commandTimeLimit: return "command-time-limit"
        case .commandCountLimit: return "command-count-limit"
        case .commandLengthLimit: return "command-length-limit"
        case .nonSMTPCommand: return "non-smtp-command"
        case .bareNewline: return "bare-newline"
        case .disconnect: return "disconnect"
        case .allowlisted: return "allowlisted"
        case .denylisted: return "denylisted"
        case .allowlistVeto: return "allowlist-veto"
        case .reject: return "reject"
        case .cacheCleanup: return "cache-cleanup"
        case .warning: return "warning"
        }
    }
}

public struct PostscreenEvent: Sendable {
    public var action: PostscreenAction
    public var ip: Span
    public var port: Int32?
    /// The rest: the DNSBL rank, the pregreet text, the reject reason...
    public var detail: Span
    public var rank: Int32?
    public var reject: Reject?
}

public enum NotificationKind: String, Sendable {
    case nonDelivery = "non-delivery", delay, success = "delivery status", postmasterNonDelivery = "postmaster non-delivery"
    case postmasterDelay = "postmaster delay", other
}

public enum MasterEvent: Sendable {
    case started(version: Span)
    case reload(version: Span)
    case terminating(signal: Int32)
    case other(Span)
}

public enum PostsuperAction: String, Sendable {
    case removed, requeued, held = "placed on hold", released = "released from hold", expired = "force-expired"
}

public enum Severity: String, Sendable {
    case warning, error, fatal, panic
}

public struct DovecotAuthFailure: Sendable {
    /// `imap-login`, `pop3-login`, `auth`, `auth-worker`, `pam_unix`...
    public var service: Span
    public var user: Span?
    public var method: Span?
    public var remoteIP: Span?
    public var localIP: Span?
    public var attempts: Int32?
    /// `auth failed`, `Password mismatch`, `unknown user`, `tried to use disabled plaintext auth`...
    public var reason: Span
}

public enum DovecotEvent: Sendable {
    case authFailure(DovecotAuthFailure)
    case login(service: Span, user: Span?, remoteIP: Span?, localIP: Span?)
    /// A login-process disconnect without an authentication failure (no auth attempts...).
    case disconnectNoAuth(service: Span, remoteIP: Span?)
    case lmtpSaved(user: Span, messageID: Span?, mailbox: Span)
    /// `auth-policy` refused or delayed a login.
    case policyRefused(Span)
    case other(Span)
}

public enum AmavisResult: String, Sendable { case passed = "Passed", blocked = "Blocked", other }

public struct AmavisEvent: Sendable {
    public var result: AmavisResult
    /// `CLEAN`, `SPAM`, `INFECTED`...
    public var category: Span
    public var queueID: Span?
    public var queuedAs: Span?
    public var messageID: Span?
}

/// What a line says.
public enum Payload: Sendable {
    case delivery(Delivery)
    /// `connect to host[ip]:port: Connection refused` and similar smtp/lmtp connection errors.
    case connectFailure(peer: Peer, reason: Span)
    /// `QID: lost connection with host[ip] while ...`, `conversation with ... timed out`,
    /// `host X said: ...` with no delivery status on the same line.
    case conversationError(queueID: QueueID?, peer: Peer?, reason: Span)
    case queueActive(QueueActive)
    case removed(QueueID)
    /// `QID: from=<..>, status=expired, returned to sender` (and `force-expired`).
    case expired(queueID: QueueID, from: Span, force: Bool)
    case qmgrNote(queueID: QueueID?, text: Span)
    case messageID(queueID: QueueID, messageID: Span, kind: MessageIDKind)
    case resentMessageID(queueID: QueueID, messageID: Span)
    case cleanup(CleanupEvent)
    case smtpd(SmtpdEvent)
    case reject(Reject)
    case postscreen(PostscreenEvent)
    case notification(queueID: QueueID, kind: NotificationKind, newQueueID: QueueID)
    case pickup(queueID: QueueID, uid: Int32, from: Span)
    /// `postdrop`/`sendmail` notes and the rare `QID: uid= from=` from sendmail.
    case submission(Span)
    case master(MasterEvent)
    case postfixScript(Span)
    case postsuper(queueID: QueueID?, action: PostsuperAction, count: Int32?)
    case statistics(Span)
    case dnsblog(ip: Span, domain: Span, result: Span)
    case tls(TLSEstablished)
    /// `warning:`, `error:`, `fatal:`, `panic:` lines of any daemon, with an optional queue id.
    case diagnostic(severity: Severity, queueID: QueueID?, text: Span)
    /// Postfix informational lines with a known shape and no tracking value (verify, tlsproxy,
    /// `discarding EHLO keywords`, `enabling PIX workarounds`, trivial-rewrite notes...).
    case note(Span)
    case dovecot(DovecotEvent)
    case amavis(AmavisEvent)
    /// opendkim, opendmarc, policyd-spf, postgrey, spamd: recognised by kind.
    case filterNote(daemon: Daemon, queueID: QueueID?, text: Span)
    /// A line whose header parsed but whose message has no known shape (or whose header did not
    /// parse: then the message is the whole line).
    case unsupported

    public var kind: String {
        switch self {
        case .delivery: return "delivery"
        case .connectFailure: return "delivery.connect-failure"
        case .conversationError: return "delivery.conversation-error"
        case .queueActive: return "qmgr.queue-active"
        case .removed: return "qmgr.removed"
        case .expired: return "qmgr.expired"
        case .qmgrNote: return "qmgr.note"
        case .messageID: return "cleanup.message-id"
        case .resentMessageID: return "cleanup.resent-message-id"
        case .cleanup(let e): return "cleanup.\(e.action.rawValue)"
        case .smtpd(let e):
            switch e {
            case .connect: return "smtpd.connect"
            case .disconnect: return "smtpd.disconnect"
            case .client: return "smtpd.client"
            case .lostConnection: return "smtpd.lost-connection"
            case .timeout: return "smtpd.timeout"
            case .saslFailed: return "smtpd.sasl-failed"
            case .tooManyErrors: return "smtpd.too-many-errors"
            case .improperPipelining: return "smtpd.improper-pipelining"
            case .tls: return "smtpd.tls"
            case .dnsMismatch: return "smtpd.dns-mismatch"
            case .nonSMTPCommand: return "smtpd.non-smtp-command"
            case .note: return "smtpd.note"
            case .sessionNote: return "smtpd.session-note"
            }
        case .reject(let r): return "reject.\(r.action.rawValue)"
        case .postscreen(let p): return "postscreen.\(p.action.kindName)"
        case .notification: return "bounce.notification"
        case .pickup: return "pickup"
        case .submission: return "submission"
        case .master: return "master"
        case .postfixScript: return "postfix-script"
        case .postsuper: return "postsuper"
        case .statistics: return "statistics"
        case .dnsblog: return "dnsblog"
        case .tls: return "tls"
        case .diagnostic(let s, _, _): return s.rawValue
        case .note: return "note"
        case .dovecot(let e):
            switch e {
            case .authFailure: return "dovecot.auth-failure"
            case .login: return "dovecot.login"
            case .disconnectNoAuth: return "dovecot.disconnect"
            case .lmtpSaved: return "dovecot.lmtp-saved"
            case .policyRefused: return "dovecot.policy"
            case .other: return "dovecot.other"
            }
        case .amavis: return "amavis"
        case .filterNote(let d, _, _): return d.rawValue
        case .unsupported: return "unsupported"
        }
    }
}
