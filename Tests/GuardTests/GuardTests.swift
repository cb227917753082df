import Auth
import Foundation
@testable import Guard
import Store
import Testing
import Tracking

final class Clock: @unchecked Sendable {
    private let lock = NSLock()
    private var t: Int64
    init(_ t: Int64) { self.t = t }
    var now: Int64 { lock.withLock { t } }
    func advance(_ s: Int64) { lock.withLock { t += s } }
}

final class Values: @unchecked Sendable {
    private let lock = NSLock()
    private var v: [String: String]
    init(_ v: [String: String]) { self.v = v }
    func get(_ k: String) -> String? { lock.withLock { v[k] } }
    func set(_ k: String, _ x: String) { lock.withLock { v[k] = x } }
}

let t0: Int64 = 1_780_000_000

func fail(_ db: AppDatabase, _ ip: String, at t: Int64, count: Int = 1, source: String = "log", proto: String = "imap") throws {
    try db.recordAuthEvent(AuthEvent(time: t, ip: ip, user: "u", proto: proto, success: false, count: count), source: source)
}

@Suite struct GuardTests {
    func make(_ values: [String: String] = [:]) throws -> (AppDatabase, BruteForceGuard, Clock, Values) {
        let db = try AppDatabase.inMemory()
        let clock = Clock(t0)
        let v = Values(["bruteforce.max_failures": "5", "bruteforce.window_minutes": "10", "bruteforce.block_hours": "1"].merging(values) { $1 })
        let g = BruteForceGuard(db: db, settings: { GuardSettings.load(v.get) }, now: { clock.now })
        return (db, g, clock, v)
    }

    @Test func failuresInTheWindowBlockForAWhileButNotTheAllowlist() throws {
        let (db, g, clock, _) = try make(["bruteforce.allowlist": "192.0.2.0/24", "general.postfix_public_ip": "198.51.100.25"])
        for i in 0..<4 { try fail(db, "203.0.113.7", at: t0 - 60 + Int64(i)) }
        // Failures older than the window do not count.
        try fail(db, "203.0.113.7", at: t0 - 3600, count: 10)
        #expect(try g.sweep().isEmpty)
        #expect(try g.decide(ip: "203.0.113.7") == .delay(2))
        try fail(db, "203.0.113.7", at: t0 - 1, proto: "smtp")
        try fail(db, "192.0.2.10", at: t0 - 1, count: 50)
        try fail(db, "198.51.100.25", at: t0 - 1, count: 50)
        #expect(try g.sweep() == ["203.0.113.7"])
        #expect(try g.decide(ip: "203.0.113.7") == .reject(BruteForceGuard.rejectMessage))
        #expect(try g.decide(ip: "192.0.2.10") == .allow)
        #expect(try g.decide(ip: "198.51.100.25") == .allow)
        #expect(try g.decide(ip: "127.0.0.1") == .allow)
        #expect(try g.decide(ip: "::1") == .allow)
        // The block ends.
        clock.advance(3601)
        #expect(try g.decide(ip: "203.0.113.7") == .allow)
    }

    @Test func logsAndPolicyReportsOfTheSameAttemptsAreNotAddedUp() throws {
        let (db, g, _, _) = try make()
        for i in 0..<3 {
            try fail(db, "203.0.113.8", at: t0 - 10 + Int64(i), source: "log")
            try g.report(ip: "203.0.113.8", user: "u", proto: "imap", success: false)
        }
        #expect(try db.failures(ip: "203.0.113.8", since: t0 - 600) == 3)
        #expect(try g.sweep().isEmpty)
        try g.report(ip: "203.0.113.8", user: "u", proto: "imap", success: false)
        try g.report(ip: "203.0.113.8", user: "u", proto: "imap", success: false)
        // The fifth report blocks at once, without waiting for a sweep.
        #expect(try db.activeBlocks(now: t0).map(\.cidr) == ["203.0.113.8"])
        // A success is recorded, not counted as a failure.
        try g.report(ip: "198.51.100.1", user: "u", proto: "imap", success: true)
        #expect(try db.failures(ip: "198.51.100.1", since: 0) == 0)
    }

    @Test func manualBlocksOfNetworksAndExternalLists() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("guard-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        ; Spamhaus DROP style
        203.0.113.0/25 ; SBL1
        # a comment
        198.51.100.77
        2001:db8::/32
        not an address
        """.write(toFile: dir + "/drop.txt", atomically: true, encoding: .utf8)
        let (_, g, clock, _) = try make(["bruteforce.lists": dir + "/drop.txt, https://lists.example/drop.txt"])
        await g.refreshLists { url in
            #expect(url == "https://lists.example/drop.txt")
            return "192.0.2.128/25\n"
        }
        #expect(g.lists.map(\.entries) == [3, 1])
        #expect(try g.decide(ip: "203.0.113.100") == .reject(BruteForceGuard.rejectMessage))
        #expect(try g.decide(ip: "203.0.113.200") == .allow)
        #expect(try g.decide(ip: "198.51.100.77") == .reject(BruteForceGuard.rejectMessage))
        #expect(try g.decide(ip: "2001:db8::5") == .reject(BruteForceGuard.rejectMessage))
        #expect(try g.decide(ip: "192.0.2.200") == .reject(BruteForceGuard.rejectMessage))
        // A list that cannot be read keeps nothing of it and says why.
        await g.refreshLists { _ in throw GuardError.notAnAddress("x") }
        #expect(g.lists.last?.error != nil)

        let b = try g.blockManually("100.64.0.0/10", hours: nil, reason: "")
        #expect(b.expiresAt == nil)
        #expect(try g.decide(ip: "100.100.1.1") == .reject(BruteForceGuard.rejectMessage))
        clock.advance(86400 * 365)
        #expect(try g.decide(ip: "100.100.1.1") == .reject(BruteForceGuard.rejectMessage))
        #expect(throws: GuardError.self) { try g.blockManually("300.1.1.1", hours: 1, reason: "") }
    }

    @Test func theDovecotConfigurationCarriesTheWorkspaceSecrets() throws {
        let db = try AppDatabase.inMemory()
        let s = try PolicySecrets.load(db)
        #expect(try PolicySecrets.load(db) == s)
        let conf = DovecotConfig.generate(url: "http://127.0.0.1:8086/", secrets: s, old: false)
        #expect(conf.contains("auth_policy_server_url = http://127.0.0.1:8086/"))
        #expect(conf.contains("auth_policy_server_api_header = X-API-Key: \(s.apiKey)"))
        #expect(conf.contains("auth_policy_hash_nonce = \(s.hashNonce)"))
        #expect(conf.contains("remote=%{rip}"))
        #expect(DovecotConfig.generate(url: "http://x/", secrets: s, old: true).contains("remote=%{real_rip}"))
    }
}
