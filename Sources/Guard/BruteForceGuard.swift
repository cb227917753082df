import Auth
import Foundation
import Store
import Tracking

/// The brute-force protection's settings (Settings → SMTP & IMAP logins), defaults applied.
public struct GuardSettings: Sendable, Equatable {
    /// Failed logins from one address within `window` that get it blocked.
    public var maxFailures = 10
    public var window: Int64 = 600
    /// How long an automatic block lasts.
    public var blockFor: Int64 = 86400
    /// Never blocked: loopback always, the server's own networks, the Postfix public IP.
    public var allowlist: [CIDR] = []
    /// Files or URLs of addresses and networks to refuse (one a line; `#` and `;` start comments).
    public var lists: [String] = []

    public init() {}

    /// From settings by key (`bruteforce.max_failures`...).
    public static func load(_ value: (String) -> String?) -> GuardSettings {
        var s = GuardSettings()
        if let v = value("bruteforce.max_failures").flatMap(Int.init) { s.maxFailures = max(1, v) }
        if let v = value("bruteforce.window_minutes").flatMap(Int64.init) { s.window = max(1, v) * 60 }
        if let v = value("bruteforce.block_hours").flatMap(Int64.init) { s.blockFor = max(1, v) * 3600 }
        s.allowlist = parseCIDRs(value("bruteforce.allowlist") ?? "")
        if let ip = value("general.postfix_public_ip"), let c = CIDR(ip) { s.allowlist.append(c) }
        s.lists = (value("bruteforce.lists") ?? "").split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
        return s
    }

    public static func parseCIDRs(_ text: String) -> [CIDR] {
        text.split(whereSeparator: { $0 == "," || $0.isWhitespace }).compactMap { CIDR(String($0)) }
    }
}

/// What the policy endpoint answers Dovecot: below 0 refuse, 0 allow, above 0 delay by that many seconds.
public enum PolicyDecision: Sendable, Equatable {
    case allow
    case delay(Int)
    case reject(String)

    public var status: Int {
        switch self {
        case .allow: return 0
        case .delay(let s): return s
        case .reject: return -1
        }
    }

    public var message: String {
        switch self {
        case .allow: return ""
        case .delay: return ""
        case .reject(let m): return m
        }
    }
}

/// Decides who may try to log in: learns failures from the logs and from Dovecot's reports, blocks
/// addresses above the threshold for a while, honours the allowlist, manual blocks and external lists.
public final class BruteForceGuard: @unchecked Sendable {
    public let db: AppDatabase
    let settings: @Sendable () -> GuardSettings
    let now: @Sendable () -> Int64
    private let lock = NSLock()
    private var listAddresses: Set<IPAddress> = []
    private var listNetworks: [CIDR] = []
    private var listStatus: [String: ListStatus] = [:]

    public struct ListStatus: Sendable, Equatable, Codable {
        public var source: String
        public var entries: Int
        public var error: String?
        public var time: Int64
    }

    public static let rejectMessage = "Too many failed logins from your address; try again later."

    public init(db: AppDatabase, settings: @escaping @Sendable () -> GuardSettings,
                now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }) {
        self.db = db
        self.settings = settings
        self.now = now
    }

    public func isAllowlisted(_ a: IPAddress, _ s: GuardSettings) -> Bool {
        a.isLoopback || s.allowlist.contains { $0.contains(a) }
    }

    /// The answer to `command=allow` for a remote address.
    public func decide(ip text: String) throws -> PolicyDecision {
        guard let a = IPAddress(text) else { return .allow }
        let s = settings()
        if isAllowlisted(a, s) { return .allow }
        let t = now()
        if try db.activeBlocks(now: t).contains(where: { CIDR($0.cidr)?.contains(a) == true }) {
            return .reject(Self.rejectMessage)
        }
        let listed = lock.withLock { listAddresses.contains(a) || listNetworks.contains { $0.contains(a) } }
        if listed { return .reject(Self.rejectMessage) }
        let failures = try db.failures(ip: a.description, since: t - s.window)
        if failures >= s.maxFailures {
            try blockAutomatically(a.description, failures: failures, s, at: t)
            return .reject(Self.rejectMessage)
        }
        // Half-way there: slow it down.
        if failures >= max(2, s.maxFailures / 2) { return .delay(2) }
        return .allow
    }

    /// `command=report`: the outcome of a login Dovecot judged.
    public func report(ip text: String, user: String?, proto: String, success: Bool) throws {
        guard let a = IPAddress(text) else { return }
        let t = now()
        try db.recordAuthEvent(AuthEvent(time: t, ip: a.description, user: user, proto: proto, success: success, reason: success ? nil : "policy report"),
                               source: "policy")
        guard !success else { return }
        let s = settings()
        if isAllowlisted(a, s) { return }
        let failures = try db.failures(ip: a.description, since: t - s.window)
        if failures >= s.maxFailures { try blockAutomatically(a.description, failures: failures, s, at: t) }
    }

    func blockAutomatically(_ ip: String, failures: Int, _ s: GuardSettings, at t: Int64) throws {
        let minutes = s.window / 60
        try db.block(BlockedAddress(cidr: ip, reason: "\(failures) failed logins in \(minutes) minutes", source: "auto",
                                    createdAt: t, expiresAt: t + s.blockFor, failures: failures))
    }

    /// Blocks every address above the threshold in the window (what the logs showed); returns the new ones.
    @discardableResult
    public func sweep() throws -> [String] {
        let s = settings()
        let t = now()
        let active = Set(try db.activeBlocks(now: t).map(\.cidr))
        var blocked: [String] = []
        for (ip, n) in try db.failuresByIP(since: t - s.window, minimum: s.maxFailures) {
            guard let a = IPAddress(ip), !isAllowlisted(a, s), !active.contains(a.description) else { continue }
            try blockAutomatically(a.description, failures: n, s, at: t)
            blocked.append(a.description)
        }
        try db.purgeExpiredBlocks(now: t)
        return blocked
    }

    /// A block by hand: an address or a network, for `hours` (nil: until unblocked).
    public func blockManually(_ text: String, hours: Int?, reason: String) throws -> BlockedAddress {
        guard let c = CIDR(text.trimmingCharacters(in: .whitespaces)) else { throw GuardError.notAnAddress(text) }
        let cidr = c.prefix == c.network.bytes.count * 8 ? c.network.description : c.description
        let t = now()
        let b = BlockedAddress(cidr: cidr, reason: reason, source: "manual", createdAt: t,
                               expiresAt: hours.map { t + Int64($0) * 3600 })
        try db.block(b)
        return b
    }

    // MARK: external lists

    /// Loads the lists of the settings: files are read, http(s) URLs fetched by `fetch`.
    public func refreshLists(fetch: (String) async throws -> String) async {
        let sources = settings().lists
        var addresses: Set<IPAddress> = []
        var networks: [CIDR] = []
        var status: [String: ListStatus] = [:]
        for source in sources {
            do {
                let text: String
                if source.hasPrefix("http://") || source.hasPrefix("https://") {
                    text = try await fetch(source)
                } else {
                    text = try String(contentsOfFile: source, encoding: .utf8)
                }
                var n = 0
                for c in Self.parseList(text) {
                    if c.prefix == c.network.bytes.count * 8 { addresses.insert(c.network) } else { networks.append(c) }
                    n += 1
                }
                status[source] = ListStatus(source: source, entries: n, error: nil, time: now())
            } catch {
                // Keep what the list gave last time.
                let old = lock.withLock { listStatus[source] }
                status[source] = ListStatus(source: source, entries: old?.entries ?? 0, error: "\(error)", time: now())
            }
        }
        let keep = status
        lock.withLock {
            listAddresses = addresses
            listNetworks = networks
            listStatus = keep
        }
    }

    public var lists: [ListStatus] { lock.withLock { listStatus.values.sorted { $0.source < $1.source } } }

    /// One address or network a line; comments after `#` or `;`.
    public static func parseList(_ text: String) -> [CIDR] {
        var out: [CIDR] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let content = line.split(maxSplits: 1, omittingEmptySubsequences: false, whereSeparator: { $0 == "#" || $0 == ";" }).first ?? ""
            guard let token = content.split(whereSeparator: { $0.isWhitespace }).first, let c = CIDR(String(token)) else { continue }
            out.append(c)
            if out.count >= 1_000_000 { break }
        }
        return out
    }
}

public enum GuardError: Error, CustomStringConvertible {
    case notAnAddress(String)
    public var description: String {
        switch self {
        case .notAnAddress(let t): return "not an IP address or CIDR network: \(t)"
        }
    }
}
