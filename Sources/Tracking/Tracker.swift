#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PostfixLog

/// What the tracker produced since the last `drain()`: what to write.
public struct TrackerOutput: Sendable {
    /// Snapshots of messages that changed (live or just completed).
    public var messages: [MessageState] = []
    /// Messages folded into another (a content-filter hop): delete their rows; their raw lines
    /// move to `into`.
    public var merged: [(id: Int64, into: Int64)] = []
    /// Raw lines of messages, appended since the last drain.
    public var rawLines = RawLines()
    public var rejections: [Rejection] = []
    /// Login attempts, successful or not.
    public var authEvents: [AuthEvent] = []
    /// The SMTP sessions open at the drain: kept with the checkpoint, so that a restart from it
    /// still gives their next message the lines before it (connect, TLS) and the login's user.
    public var sessions: [SessionState] = []

    public init() {}
    public var isEmpty: Bool { messages.isEmpty && merged.isEmpty && rawLines.isEmpty && rejections.isEmpty && authEvents.isEmpty }
}

/// The raw lines of a drain: each message's lines joined with newlines, one message after the other in
/// the order of their ids, in one buffer (what the store compresses as it is).
public struct RawLines: Sendable {
    public var bytes: [UInt8] = []
    /// Where each message's lines are in `bytes`.
    public var messages: [(messageID: Int64, offset: Int32, length: Int32)] = []

    public init() {}
    public var isEmpty: Bool { messages.isEmpty }
    /// The lines of the `i`th message.
    public func lines(at i: Int) -> ArraySlice<UInt8> {
        let m = messages[i]
        return bytes[Int(m.offset)..<Int(m.offset + m.length)]
    }
}

/// An SMTP session that is still open, as it is kept between two runs.
public struct SessionState: Sendable, Equatable {
    public var host: String
    public var pid: Int32
    public var clientHost: String
    public var clientIP: String
    public var start: Int64
    /// Its lines not yet given to a message, joined with newlines.
    public var lines: [UInt8]
    public var saslUser: String?

    public init(host: String, pid: Int32, clientHost: String, clientIP: String, start: Int64, lines: [UInt8], saslUser: String?) {
        self.host = host
        self.pid = pid
        self.clientHost = clientHost
        self.clientIP = clientIP
        self.start = start
        self.lines = lines
        self.saslUser = saslUser
    }
}

/// Turns parsed records into the story of each message: a queue-id state machine.
///
/// Pure: time comes from the log (`time`), nothing is read or written here. Memory holds only live
/// messages and SMTP sessions; messages quiet for longer than `maxIdle` are let go.
public struct Tracker: Sendable {
    struct SessionKey: Hashable, FastHashable {
        var host: UInt32
        var pid: Int32
        var fastHash: UInt64 { UInt64(host) << 32 | UInt64(UInt32(bitPattern: pid)) }
    }
    struct Session {
        var clientHost: String
        var clientIP: String
        var start: Int64
        var lines: [UInt8]
        /// `sasl_username=` of the session's messages.
        var saslUser: String? = nil
    }

    public private(set) var nextID: Int64
    var hosts: [String] = []
    var hostIndex: [[UInt8]: UInt32] = [:]
    /// The same, by name (a message's host), looked up without making an array of its bytes.
    var hostByName: [String: UInt32] = [:]
    var byQueue = FastMap<QueueKey, Int64>()
    var awaiting = FastMap<QueueKey, Int64>()
    /// Queues removed since the last drain, and in the batch before it, with their messages (held
    /// in `live` until the drain after the one that wrote them complete).
    var removedQueues = FastMap<QueueKey, Int64>()
    var removedBefore = FastMap<QueueKey, Int64>()
    /// Messages written complete at the last drain, let go at the next one.
    var retiring: [Int64] = []
    var live = DenseMap<Int64, MessageState>()
    /// The raw lines since the last drain, each line once in `rawArena`, chained per message.
    var rawArena: [UInt8] = []
    var rawEntries: [RawEntry] = []
    var rawChains = FastMap<Int64, RawChain>()
    struct RawEntry { var start: Int32; var count: Int32; var next: Int32 }
    struct RawChain { var head: Int32; var tail: Int32; var bytes: Int }
    /// Messages changed since the last drain, each once (their `drainPending` is set): a list and a
    /// flag cost less than a set's hashing on every line.
    var dirty: [Int64] = []
    var completed: [Int64] = []
    var sessions = DenseMap<SessionKey, Session>()
    var output = TrackerOutput()
    var now: Int64 = 0
    var linesSinceSweep = 0
    var lastHost: (bytes: [UInt8], id: UInt32)? = nil
    /// Live notifications (NDRs) by the message they are about.
    var notifications: [Int64: [Int64]] = [:]

    /// How long a message may stay without any line before it is let go (it stays stored as it is).
    public var maxIdle: Int64 = 8 * 86400
    /// How long an SMTP session may stay without its disconnect line.
    public var maxSessionAge: Int64 = 3600
    /// Most raw bytes kept per SMTP session before its message shows up.
    public var maxSessionBytes = 4096

    public init(nextID: Int64 = 1) {
        self.nextID = nextID
    }

    /// Restores the live messages and open sessions saved by a previous run.
    public init(restoring messages: [MessageState], sessions open: [SessionState] = [], nextID: Int64) {
        self.nextID = nextID
        for s in open {
            sessions[SessionKey(host: hostID(s.host), pid: s.pid)] = Session(clientHost: s.clientHost, clientIP: s.clientIP, start: s.start,
                                                                            lines: s.lines, saslUser: s.saslUser)
        }
        for var m in messages where !m.complete {
            m.persisted = true
            live[m.id] = m
            let h = hostID(m.host)
            for q in m.liveQueues { byQueue[QueueKey(host: h, string: q)] = m.id }
            for q in m.awaitingChildren { awaiting[QueueKey(host: h, string: q)] = m.id }
            now = max(now, m.lastSeen)
        }
    }

    public var liveMessageCount: Int { live.count - retiring.reduce(0) { $0 + (live.index(forKey: $1) != nil ? 1 : 0) } }
    public var sessionCount: Int { sessions.count }

    /// Everything produced since the last call.
    public mutating func drain() -> TrackerOutput {
        // Room for all at once: grown by doubling, the array of (large) messages was copied again and again.
        output.messages.reserveCapacity(output.messages.count + dirty.count)
        for id in dirty {
            if let i = live.index(forKey: id) {
                live.withValue(at: i) { $0.drainPending = false }
                output.messages.append(live[at: i])
                live.withValue(at: i) { $0.persisted = true }
            }
        }
        dirty.removeAll(keepingCapacity: true)
        // A line about a message may come just after the batch that completed it (the bounce
        // daemon's notification line after qmgr's `removed`): it is held one more batch.
        swap(&removedBefore, &removedQueues)
        removedQueues.removeAll(keepingCapacity: true)
        for id in retiring {
            if let i = live.index(forKey: id), live[at: i].complete {
                live.remove(at: i)
                notifications.removeValue(forKey: id)
            }
        }
        swap(&retiring, &completed)
        completed.removeAll(keepingCapacity: true)
        drainRaw()
        output.sessions = sessions.map { key, s in
            SessionState(host: hosts[Int(key.host)], pid: key.pid, clientHost: s.clientHost, clientIP: s.clientIP, start: s.start,
                         lines: s.lines, saslUser: s.saslUser)
        }
        let out = output
        output = TrackerOutput()
        return out
    }

    // MARK: - Feeding

    /// Feeds one parsed line. `time` is the line's Unix time (seconds, UTC).
    public mutating func process(_ record: Record, line: UnsafeBufferPointer<UInt8>, time: Int64) {
        if time > now { now = time }
        linesSinceSweep += 1
        if linesSinceSweep >= 10_000 { sweep() }
        let header = record.header
        let daemon = header.process.daemon
        switch record.payload {
        case .smtpd(let e):
            smtpd(e, header, line, time)
        case .queueActive(let q):
            let id = message(for: q.queueID, header, line, time, create: true)!
            update(id, time, line) { m in
                if m.senderRef.isNone { m.senderRef = m.text.store(line, q.from) }
                if m.size == nil { m.size = q.size }
                if m.nrcpt == nil { m.nrcpt = Int(q.nrcpt) }
            }
        case .messageID(let qid, let mid, _):
            let id = message(for: qid, header, line, time, create: true)!
            update(id, time, line) { m in
                if m.messageIDRef.isNone { m.messageIDRef = m.text.store(line, mid) }
            }
        case .pickup(let qid, _, _):
            let key = queueKey(header, line, qid)
            let id = startMessage(key, line.string(qid), header, time)
            update(id, time, line) { m in
                m.origin = .pickup
            }
        case .delivery(let d):
            delivery(d, header, line, time, agent: daemon)
        case .expired(let qid, _, _):
            guard let id = message(for: qid, header, line, time, create: true) else { return }
            update(id, time, line) { m in
                m.expired = true
                for i in m.recipients.indices where m.recipients[i].outcome == .deferred || m.recipients[i].outcome == .pending {
                    m.recipients[i].outcome = .expired
                }
            }
        case .removed(let qid):
            removed(qid, header, line, time)
        case .postsuper(let qid?, .removed, _):
            removed(qid, header, line, time)
        case .notification(let qid, let kind, let newQID):
            // The bounce daemon may log this after qmgr's `removed` of either queue (a notification
            // delivered locally within the same millisecond): a queue removed in this batch still counts.
            guard let id = justRemoved(qid, header, line) ?? message(for: qid, header, line, time, create: true) else { return }
            let child = justRemoved(newQID, header, line) ?? message(for: newQID, header, line, time, create: true)!
            if child != id {
                update(child, time, nil) { c in
                    c.origin = .notification
                    c.parentID = id
                }
                notifications[id, default: []].append(child)
            }
            update(id, time, line) { m in
                guard kind == .nonDelivery else { return }
                m.notified = true
                let hasSender = m.senderRef.length > 0
                for i in m.recipients.indices where m.recipients[i].outcome == .bounced || m.recipients[i].outcome == .expired {
                    if hasSender { m.recipients[i].returned = true }
                }
            }
        case .reject(let r):
            rejection(r, daemon: daemon, header, line, time)
        case .postscreen(let p):
            if let r = p.reject { rejection(r, daemon: daemon, header, line, time) }
        case .cleanup(let e):
            cleanup(e, header, line, time)
        case .conversationError(let qid?, _, _):
            attach(qid, header, line, time)
        case .diagnostic(_, let qid?, _):
            attach(qid, header, line, time)
        case .qmgrNote(let qid?, _):
            attach(qid, header, line, time)
        case .filterNote(_, let qid?, _):
            attach(qid, header, line, time)
        case .resentMessageID(let qid, _):
            attach(qid, header, line, time)
        case .amavis(let a):
            if let q = a.queueID { attach(q, header, line, time) }
        case .dovecot(let e):
            dovecot(e, line, time)
        default:
            break
        }
    }

    // MARK: - Events

    /// Logins of Dovecot's login processes (`imap-login`...). Its `auth` process logs the same attempts
    /// again (and those of Postfix's SASL, which Postfix logs itself): those lines are not counted.
    mutating func dovecot(_ e: DovecotEvent, _ line: UnsafeBufferPointer<UInt8>, _ time: Int64) {
        func proto(_ service: Span) -> String? {
            let s = line.string(service)
            guard s.hasSuffix("-login") else { return nil }
            return String(s.dropLast(6))
        }
        switch e {
        case .authFailure(let f):
            guard let p = proto(f.service), let rip = f.remoteIP else { return }
            output.authEvents.append(AuthEvent(time: time, ip: line.string(rip), user: f.user.map { line.string($0) }, proto: p,
                                               success: false, count: Int(max(1, f.attempts ?? 1)), reason: line.string(f.reason)))
        case .login(let service, let user, let rip, _):
            guard let p = proto(service), let rip else { return }
            output.authEvents.append(AuthEvent(time: time, ip: line.string(rip), user: user.map { line.string($0) }, proto: p, success: true))
        default:
            break
        }
    }

    mutating func smtpd(_ e: SmtpdEvent, _ header: Header, _ line: UnsafeBufferPointer<UInt8>, _ time: Int64) {
        let skey = SessionKey(host: hostID(header, line), pid: header.process.pid ?? -1)
        switch e {
        case .connect(let p):
            var lines: [UInt8] = []
            lines.reserveCapacity(512)
            lines.append(contentsOf: line)
            sessions.insert(skey, Session(clientHost: line.string(p.host), clientIP: line.string(p.ip), start: time, lines: lines))
        case .tls, .sessionNote:
            // In place: a copy of the session would copy its lines on the append.
            if let i = sessions.index(forKey: skey), sessions[at: i].lines.count < maxSessionBytes {
                sessions.withValue(at: i) { $0.lines.appendLine(line) }
            }
        case .client(let c):
            let key = queueKey(header, line, c.queueID)
            let qid = line.string(c.queueID)
            if let parent = awaiting.removeValue(forKey: key) {
                // The re-injection of a content-filter hop: this queue is part of the parent message.
                if isLive(parent) {
                    byQueue[key] = parent
                    update(parent, time, line) { m in
                        m.awaitingChildren.removeAll { $0 == qid }
                        if !m.queueIDs.contains(qid) { m.queueIDs.append(qid) }
                        if !m.liveQueues.contains(qid) { m.liveQueues.append(qid) }
                    }
                    return
                }
            }
            let id = startMessage(key, qid, header, time)
            // The session's lines so far are the message's first; changed in place (a session taken out
            // of the table and set back would copy its buffer of lines).
            if let i = sessions.index(forKey: skey) {
                var sessionLines: [UInt8] = []
                sessions.withValue(at: i) { s in
                    swap(&sessionLines, &s.lines)
                    if let u = c.saslUsername { s.saslUser = line.string(u) }
                }
                if !sessionLines.isEmpty { appendRaw(id, sessionLines) }
                // The buffer goes back to the session, for its next message's lines.
                sessionLines.removeAll(keepingCapacity: true)
                sessions.withValue(at: i) { s in swap(&sessionLines, &s.lines) }
            }
            update(id, time, line) { m in
                m.origin = .smtp
                m.clientHostRef = m.text.store(line, c.client.host)
                m.clientIPRef = m.text.store(line, c.client.ip)
                m.saslUsernameRef = m.text.store(line, c.saslUsername)
            }
        case .saslFailed(let f):
            let ip = line.string(f.client.ip)
            if !ip.isEmpty, ip != "unknown" {
                output.authEvents.append(AuthEvent(time: time, ip: ip, user: f.username.map { line.string($0) }, proto: "smtp",
                                                   success: false, reason: line.string(f.reason)))
            }
        case .disconnect(let p, let counters):
            let s = sessions.removeValue(forKey: skey)
            // One successful login per session: `auth=1/1` on the disconnect line (the address is read
            // only then: disconnects are frequent).
            if counters.authSuccess > 0 {
                let ip = line.string(p.ip)
                if !ip.isEmpty, ip != "unknown" {
                    output.authEvents.append(AuthEvent(time: time, ip: ip, user: s?.saslUser, proto: "smtp", success: true))
                }
            }
        default:
            break
        }
    }

    mutating func delivery(_ d: Delivery, _ header: Header, _ line: UnsafeBufferPointer<UInt8>, _ time: Int64, agent: Daemon) {
        let id = message(for: d.queueID, header, line, time, create: true)!
        if d.status == .sent, let next = d.queuedAs, isHop(d, header, line) {
            let childKey = queueKey(header, line, next)
            let childQID = line.string(next)
            update(id, time, line) { m in m.appendHop(line, d, time: time, agent: agent) }
            if let child = byQueue[childKey], child != id, isLive(child) {
                merge(child: child, into: id)
            } else if byQueue[childKey] == nil {
                awaiting[childKey] = id
                update(id, time, nil) { m in
                    if !m.awaitingChildren.contains(childQID) { m.awaitingChildren.append(childQID) }
                }
            }
            return
        }
        // The recipient's strings go from the line to its buffer, without strings made in between.
        update(id, time, line) { m in
            var i = m.recipients.firstIndex { $0.text.equals($0.recipientRef, line, d.to) && $0.text.equals($0.origRecipientRef, line, d.origTo) }
            if i == nil {
                // Room for the attempt's relay, reply, status, dsn and agent.
                let room = Int(d.relay.text.count) + Int(d.reply.count) + 32
                m.recipients.append(RecipientState(line, to: d.to, origTo: d.origTo, room: room))
                i = m.recipients.count - 1
            }
            // In place: a copy of the recipient would copy its buffers on the append.
            m.recipients[i!].record(line, d, time: time, agent: agent)
        }
    }

    /// A `sent` line whose reply names a queue of this host: a content filter re-injected the message.
    /// Either the queue is live already (the filter re-injects before it answers, so its `client=`
    /// line comes first), or the reply has amavis' `from MTA(...)` form. A relay on loopback alone
    /// proves nothing: it may be a local relay whose queue ids are its own.
    mutating func isHop(_ d: Delivery, _ header: Header, _ line: UnsafeBufferPointer<UInt8>) -> Bool {
        if d.viaFilter { return true }
        if let next = d.queuedAs, let child = byQueue[queueKey(header, line, next)], isLive(child) { return true }
        return false
    }

    mutating func merge(child: Int64, into parent: Int64) {
        // Both taken out of `live`: the parent's arrays are then its own, appended to in place.
        guard isLive(child), isLive(parent) else { return }
        let c = live.removeValue(forKey: child)!
        var p = live.removeValue(forKey: parent)!
        let h = hostID(c.host)
        for q in c.queueIDs where !p.queueIDs.contains(q) { p.queueIDs.append(q) }
        for q in c.liveQueues where !p.liveQueues.contains(q) { p.liveQueues.append(q) }
        for q in c.liveQueues { byQueue[QueueKey(host: h, string: q)] = parent }
        p.recipients.append(contentsOf: c.recipients)
        for h in c.hopEntries { p.hopEntries.append(p.text.entry(c.text.attempt(h))) }
        p.expired = p.expired || c.expired
        p.notified = p.notified || c.notified
        p.awaitingChildren.append(contentsOf: c.awaitingChildren)
        for q in c.awaitingChildren { awaiting[QueueKey(host: h, string: q)] = parent }
        if p.messageID == nil { p.messageID = c.messageID }
        if p.size == nil { p.size = c.size }
        p.lastSeen = max(p.lastSeen, c.lastSeen)
        p.firstSeen = min(p.firstSeen, c.firstSeen)
        if !p.drainPending {
            p.drainPending = true
            dirty.append(parent)
        }
        live.insert(parent, consume p)
        moveRaw(from: child, to: parent)
        // A child never written has no rows to delete nor lines stored under its id.
        if c.persisted { output.merged.append((child, parent)) }
        // Notifications about the child point at the parent now.
        if let ns = notifications.removeValue(forKey: child) {
            for n in ns {
                guard let i = live.index(forKey: n) else { continue }
                live.withValue(at: i) { $0.parentID = parent }
                markDirty(n, at: i)
            }
            notifications[parent, default: []].append(contentsOf: ns)
        }
    }

    mutating func removed(_ qid: Span, _ header: Header, _ line: UnsafeBufferPointer<UInt8>, _ time: Int64) {
        let key = queueKey(header, line, qid)
        guard let id = byQueue.removeValue(forKey: key) else { return }
        removedQueues[key] = id
        let q = line.string(qid)
        var done = false
        update(id, time, line) { m in
            m.removeLiveQueue(q)
            done = m.liveQueues.isEmpty && m.awaitingChildren.isEmpty
        }
        if done { complete(id) }
    }

    mutating func complete(_ id: Int64) {
        guard let i = live.index(forKey: id) else { return }
        live.withValue(at: i) { $0.complete = true }
        markDirty(id, at: i)
        completed.append(id)
    }

    mutating func cleanup(_ e: CleanupEvent, _ header: Header, _ line: UnsafeBufferPointer<UInt8>, _ time: Int64) {
        switch e.action {
        case .reject, .milterReject, .discard, .milterDiscard:
            let id = message(for: e.queueID, header, line, time, create: false)
            let m: MessageState? = id.flatMap { live[$0] }
            let rej = Rejection(time: time, host: hostName(header, line), queueID: line.string(e.queueID),
                                daemon: "cleanup",
                                stage: e.action == .discard || e.action == .milterDiscard ? "discard" : line.string(e.what),
                                clientHost: e.client.map { line.string($0.host) } ?? m?.clientHost,
                                clientIP: e.client.map { line.string($0.ip) } ?? m?.clientIP,
                                sender: e.from.map { line.string($0) } ?? m?.sender,
                                recipient: e.to.map { line.string($0) },
                                code: e.code.map(Int.init), dsn: e.dsn?.description,
                                reason: line.string(e.reason ?? e.text), line: line.string(Span(start: 0, count: line.count)))
            output.rejections.append(rej)
            // The queue file is dropped: the message ends here, without a `removed` line.
            if let id {
                update(id, time, line) { mm in mm.rejected = true }
                let key = queueKey(header, line, e.queueID)
                byQueue.removeValue(forKey: key)
                let q = line.string(e.queueID)
                var done = false
                update(id, time, nil) { mm in
                    mm.removeLiveQueue(q)
                    done = mm.liveQueues.isEmpty && mm.awaitingChildren.isEmpty
                }
                if done { complete(id) }
            }
        default:
            attach(e.queueID, header, line, time)
        }
    }

    mutating func rejection(_ r: Reject, daemon: Daemon, _ header: Header, _ line: UnsafeBufferPointer<UInt8>, _ time: Int64) {
        guard r.action == .reject || r.action == .defer || r.action == .deferIfPermit || r.action == .deferIfReject else {
            if let q = r.queueID { attach(q, header, line, time) }
            return
        }
        let rej = Rejection(time: time, host: hostName(header, line), queueID: r.queueID.map { line.string($0) },
                            daemon: daemon.rawValue, stage: line.string(r.stage),
                            clientHost: r.client.host.isEmpty ? nil : line.string(r.client.host),
                            clientIP: r.client.ip.isEmpty ? nil : line.string(r.client.ip),
                            sender: r.from.map { line.string($0) }, recipient: (r.to ?? r.address).map { line.string($0) },
                            code: r.code.map(Int.init), dsn: r.dsn?.description, reason: line.string(r.reason),
                            line: line.string(Span(start: 0, count: line.count)))
        output.rejections.append(rej)
        if let q = r.queueID { attach(q, header, line, time) }
    }

    /// Adds a line that names a queue id to that message's raw lines.
    mutating func attach(_ qid: Span, _ header: Header, _ line: UnsafeBufferPointer<UInt8>, _ time: Int64) {
        guard let id = byQueue[queueKey(header, line, qid)] else { return }
        update(id, time, line) { _ in }
    }

    // MARK: - Helpers

    /// The message of a queue removed in this batch or the one before, if no live queue has its id now (a
    /// reused id belongs to the new message) and the message is still held.
    mutating func justRemoved(_ qid: Span, _ header: Header, _ line: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard !removedQueues.isEmpty || !removedBefore.isEmpty else { return nil }
        let key = queueKey(header, line, qid)
        guard byQueue[key] == nil, let id = removedQueues[key] ?? removedBefore[key], isLive(id) else { return nil }
        return id
    }

    /// The live message of a queue id, or a new one (for logs that begin mid-stream, NDRs...).
    mutating func message(for qid: Span, _ header: Header, _ line: UnsafeBufferPointer<UInt8>, _ time: Int64,
                          create: Bool) -> Int64? {
        let key = queueKey(header, line, qid)
        if let id = byQueue[key] { return id }
        guard create else { return nil }
        return startMessage(key, line.string(qid), header, time, hostFrom: line)
    }

    mutating func startMessage(_ key: QueueKey, _ qid: String, _ header: Header, _ time: Int64,
                               hostFrom line: UnsafeBufferPointer<UInt8>? = nil) -> Int64 {
        if let old = byQueue[key] {
            // Queue id reuse without a `removed` line for the old message: let the old one go.
            byQueue.removeValue(forKey: key)
            var done = false
            if let i = live.index(forKey: old) {
                live.withValue(at: i) { m in
                    m.removeLiveQueue(qid)
                    done = m.liveQueues.isEmpty
                }
            }
            if done { complete(old) }
        }
        let id = nextID
        nextID += 1
        var m = MessageState(id: id, host: hosts[Int(key.host)], queueID: qid, time: time)
        m.drainPending = true
        live.insert(id, consume m)
        byQueue[key] = id
        dirty.append(id)
        return id
    }

    /// Lists a message for the next drain, once.
    @inline(__always)
    mutating func markDirty(_ id: Int64, at i: Int) {
        var first = false
        live.withValue(at: i) { m in
            if !m.drainPending {
                m.drainPending = true
                first = true
            }
        }
        if first { dirty.append(id) }
    }

    /// Whether a message is held (without copying it out of the table, as `live[id] != nil` does).
    @inline(__always)
    func isLive(_ id: Int64) -> Bool { live.index(forKey: id) != nil }

    @inline(__always)
    mutating func update(_ id: Int64, _ time: Int64, _ line: UnsafeBufferPointer<UInt8>?, _ change: (inout MessageState) -> Void) {
        guard let i = live.index(forKey: id) else { return }
        var first = false
        live.withValue(at: i) { m in
            change(&m)
            if time > m.lastSeen { m.lastSeen = time }
            if time < m.firstSeen { m.firstSeen = time }
            if !m.drainPending {
                m.drainPending = true
                first = true
            }
        }
        if first { dirty.append(id) }
        if let line { appendRaw(id, line) }
    }

    /// Adds lines (one, or several joined with newlines) to a message's: copied once into the batch's
    /// arena and chained to the message's earlier ones, without a buffer per message.
    mutating func appendRaw<C: Collection>(_ id: Int64, _ bytes: C) where C.Element == UInt8 {
        let entry = Int32(rawEntries.count)
        rawEntries.append(RawEntry(start: Int32(rawArena.count), count: Int32(bytes.count), next: -1))
        rawArena.append(contentsOf: bytes)
        if let i = rawChains.index(forKey: id) {
            rawChains.withValue(at: i) { c in
                rawEntries[Int(c.tail)].next = entry
                c.tail = entry
                c.bytes += bytes.count
            }
        } else {
            rawChains[id] = RawChain(head: entry, tail: entry, bytes: bytes.count)
        }
    }

    /// Moves the chain of `from`'s lines after `into`'s (a merged content-filter hop).
    mutating func moveRaw(from child: Int64, to parent: Int64) {
        guard let c = rawChains.removeValue(forKey: child) else { return }
        if let i = rawChains.index(forKey: parent) {
            rawChains.withValue(at: i) { p in
                rawEntries[Int(p.tail)].next = c.head
                p.tail = c.tail
                p.bytes += c.bytes
            }
        } else {
            rawChains[parent] = c
        }
    }

    /// Joins each message's lines, in the order of the messages (a table's order depends on what came
    /// and went before: the lines of two messages merged later read back in the same order every time).
    mutating func drainRaw() {
        var out = RawLines()
        // The chains in the order of their messages' ids (read where they are, not looked up again).
        var chains: [(id: Int64, chain: RawChain)] = []
        chains.reserveCapacity(rawChains.count)
        for i in rawChains.indices where rawChains[at: i].bytes > 0 { chains.append((rawChains.key(at: i), rawChains[at: i])) }
        chains.sort { $0.id < $1.id }
        out.messages.reserveCapacity(chains.count)
        // At most one newline per line: the joined lines are written straight into their buffer, a
        // `memcpy` per line (an array's append checked its room and its storage line after line).
        let room = rawArena.count + rawEntries.count
        out.bytes = [UInt8](unsafeUninitializedCapacity: room) { buffer, written in
            var at = 0
            rawArena.withUnsafeBufferPointer { arena in
                rawEntries.withUnsafeBufferPointer { entries in
                    for (id, chain) in chains {
                        let offset = at
                        var e = chain.head
                        while e >= 0 {
                            let entry = entries[Int(e)]
                            let n = Int(entry.count)
                            // Each line is in one chain once: the room counted holds them all.
                            precondition(at + 1 + n <= room, "raw lines beyond the room counted for them")
                            if at > offset {
                                buffer[at] = 0x0A
                                at += 1
                            }
                            if n > 0 { (buffer.baseAddress! + at).initialize(from: arena.baseAddress! + Int(entry.start), count: n) }
                            at += n
                            e = entry.next
                        }
                        out.messages.append((id, Int32(offset), Int32(at - offset)))
                    }
                }
            }
            written = at
        }
        output.rawLines = out
        rawArena.removeAll(keepingCapacity: true)
        rawEntries.removeAll(keepingCapacity: true)
        rawChains.removeAll(keepingCapacity: true)
    }

    mutating func hostID(_ header: Header, _ line: UnsafeBufferPointer<UInt8>) -> UInt32 {
        let s = header.host
        let r = s.range.clamped(to: 0..<line.count)
        // Most lines come from the host of the line before.
        if let last = lastHost, last.bytes.count == r.count,
           last.bytes.withUnsafeBufferPointer({ b in r.isEmpty || memcmp(b.baseAddress!, line.baseAddress! + r.lowerBound, r.count) == 0 }) {
            return last.id
        }
        let bytes = Array(UnsafeBufferPointer(rebasing: line[r]))
        defer { lastHost = (bytes, hostIndex[bytes]!) }
        if let i = hostIndex[bytes] { return i }
        let i = UInt32(hosts.count)
        let name = String(decoding: bytes, as: UTF8.self)
        hosts.append(name)
        hostIndex[bytes] = i
        hostByName[name] = i
        return i
    }

    mutating func hostID(_ name: String) -> UInt32 {
        if let i = hostByName[name] { return i }
        let i = UInt32(hosts.count)
        hosts.append(name)
        hostIndex[Array(name.utf8)] = i
        hostByName[name] = i
        return i
    }

    mutating func hostName(_ header: Header, _ line: UnsafeBufferPointer<UInt8>) -> String {
        hosts[Int(hostID(header, line))]
    }

    mutating func queueKey(_ header: Header, _ line: UnsafeBufferPointer<UInt8>, _ qid: Span) -> QueueKey {
        QueueKey(host: hostID(header, line), bytes: line, span: qid)
    }

    /// Lets go of messages and sessions that have been quiet for too long.
    mutating func sweep() {
        linesSinceSweep = 0
        let limit = now - maxIdle
        // Found by index: iterating over the pairs copied every message.
        var idle: [Int64] = []
        for i in live.indices where live[at: i].lastSeen < limit && !live[at: i].complete { idle.append(live.key(at: i)) }
        for id in idle {
            let i = live.index(forKey: id)!
            var queues: [String] = [], children: [String] = [], host = ""
            live.withValue(at: i) { m in
                swap(&queues, &m.liveQueues)
                swap(&children, &m.awaitingChildren)
                host = m.host
            }
            let h = hostID(host)
            for q in queues { byQueue.removeValue(forKey: QueueKey(host: h, string: q)) }
            for q in children { awaiting.removeValue(forKey: QueueKey(host: h, string: q)) }
            complete(id)
        }
        let sessionLimit = now - maxSessionAge
        sessions.removeAll { $0.start < sessionLimit }
    }
}

extension Array where Element == UInt8 {
    /// Appends a line, after a newline if there are lines already.
    @inline(__always)
    fileprivate mutating func appendLine<C: Collection>(_ line: C) where C.Element == UInt8 {
        if !isEmpty { append(0x0A) }
        append(contentsOf: line)
    }
}

extension RecipientState {
    /// One delivery attempt of this recipient.
    fileprivate mutating func record(_ line: UnsafeBufferPointer<UInt8>, _ d: Delivery, time: Int64, agent: Daemon) {
        let e = text.entry(line, d, time: time, agent: agent, hop: false)
        switch d.status {
        case .sent, .bounced, .deferred, .expired, .softBounce:
            attempts += 1
            if firstAttempt == nil { firstAttempt = time }
            lastAttempt = time
            dsnRef = e.dsn
            relayRef = e.relay
            reasonRef = e.reply
            if agent != .error && agent != .retry || agentRef.isNone { agentRef = e.agent }
            switch d.status {
            case .sent: outcome = .sent
            case .bounced: outcome = .bounced
            case .expired: outcome = .expired
            default: if !isFinal { outcome = .deferred }
            }
        default:
            break
        }
        entries.append(e)
    }
}

extension MessageState {
    /// A content-filter hop: its strings from the line into the message's buffer.
    fileprivate mutating func appendHop(_ line: UnsafeBufferPointer<UInt8>, _ d: Delivery, time: Int64, agent: Daemon) {
        hopEntries.append(text.entry(line, d, time: time, agent: agent, hop: true))
    }
}

extension TextBuffer {
    /// The attempt of a delivery line, its strings from the line into this buffer.
    fileprivate mutating func entry(_ line: UnsafeBufferPointer<UInt8>, _ d: Delivery, time: Int64, agent: Daemon, hop: Bool) -> AttemptEntry {
        AttemptEntry(time: time, delay: d.delay ?? 0, hasDelay: d.delay != nil, hop: hop, status: store(d.status.rawValue),
                     dsn: store(d.dsn?.description), relay: store(line, d.relay.text), reply: store(line, d.reply), agent: store(agent.rawValue))
    }
}
