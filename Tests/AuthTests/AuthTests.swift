import Foundation
import Store
import Testing
@testable import Auth

@Suite struct SHA256Tests {
    @Test func knownVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(String(repeating: "a", count: 1000)) == "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    @Test func secretsAreRandomAndURLSafe() {
        let a = Secret.make(), b = Secret.make()
        #expect(a != b)
        #expect(a.count == 43)
        #expect(a.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(Secret.equal(a, a))
        #expect(!Secret.equal(a, b))
        #expect(!Secret.equal(a, String(a.dropLast())))
    }
}

@Suite struct PasswordStrengthTests {
    let e = PasswordEstimator.shared

    @Test(arguments: ["password", "Password1", "P@ssw0rd!", "qwertyuiop", "1qaz2wsx3edc", "aaaaaaaaaaaaaaa", "abcabcabcabc",
                      "123456789012", "iloveyou2024", "dragon1987", "Summer2026!", "monkey123", "zxcvbnm,./"])
    func commonPatternsAreRejected(_ pw: String) {
        let s = e.estimate(pw)
        #expect(!s.isAcceptable, "\(pw): score \(s.score), 10^\(s.log10Guesses)")
        #expect(s.warning != nil)
    }

    @Test(arguments: ["correct horse battery staple", "tq8#Vz!mK2pLx9", "violet-otter-gravel-sunrise", "Xk7$mQ2#pL9v", "ambient quilt marmalade"])
    func strongPasswordsPass(_ pw: String) {
        let s = e.estimate(pw)
        #expect(s.isAcceptable, "\(pw): score \(s.score), 10^\(s.log10Guesses)")
    }

    @Test func theUsersOwnNameAndAddressCountAgainstIt() {
        let inputs = ["Ada Quuxington", "ada.quuxington@lightmeter-test.example"]
        #expect(e.estimate("quuxingtonlightmeter", userInputs: []).isAcceptable)
        let s = e.estimate("quuxingtonlightmeter", userInputs: inputs)
        #expect(!s.isAcceptable)
        #expect(s.warning == "Do not use your name or e-mail address in the password.")
    }

    @Test func lengthAloneIsNotEnough() {
        // Long, but a keyboard row and a repeat.
        #expect(!e.estimate("qwertyuiopqwertyuiop").isAcceptable)
        // Short, but random.
        #expect(e.estimate("9#fQz!2Lw").score >= 3)
    }
}

@Suite struct AccountsTests {
    final class Clock: @unchecked Sendable {
        var now: Int64 = 1_800_000_000
    }

    func make(_ clock: Clock = Clock(), multiple: Bool = false) throws -> Accounts {
        var policy = AccountPolicy()
        policy.bcryptCost = 4
        policy.allowMultipleUsers = multiple
        return Accounts(db: try AppDatabase.inMemory(), policy: policy, now: { clock.now })
    }

    @Test func theFirstAccountIsTheAdministratorAndTheOnlyOneRegistered() async throws {
        let a = try make()
        #expect(try a.needsRegistration())
        let admin = try await a.register(name: "Ada", email: "ada@example.org", password: "correct horse battery staple")
        #expect(admin.isAdmin)
        #expect(admin.passwordHash.hasPrefix("$2b$04$"))
        #expect(!admin.passwordHash.contains("correct"))
        await #expect(throws: AccountError.alreadyRegistered) {
            try await a.register(name: "Eve", email: "eve@example.org", password: "another long passphrase here")
        }
        await #expect(throws: AccountError.multipleUsersDisabled) {
            try await a.register(name: "Bob", email: "bob@example.org", password: "another long passphrase here", by: admin)
        }
    }

    @Test func theDefaultCostIsTwelve() async throws {
        let a = Accounts(db: try AppDatabase.inMemory())
        let u = try await a.register(name: "Ada", email: "ada@example.org", password: "correct horse battery staple")
        #expect(u.passwordHash.hasPrefix("$2b$12$"))
        #expect(AccountPolicy().bcryptCost >= 12)
    }

    @Test func administratorsAddUsersWhenAllowed() async throws {
        let a = try make(multiple: true)
        let admin = try await a.register(name: "Ada", email: "ada@example.org", password: "correct horse battery staple")
        let bob = try await a.register(name: "Bob", email: "bob@example.org", password: "another long passphrase here", by: admin)
        #expect(!bob.isAdmin)
        await #expect(throws: AccountError.notAdmin) {
            try await a.register(name: "Cy", email: "cy@example.org", password: "yet another long passphrase", by: bob)
        }
        await #expect(throws: AccountError.emailTaken) {
            try await a.register(name: "Bob2", email: "BOB@example.org", password: "another long passphrase here", by: admin)
        }
    }

    @Test func validation() async throws {
        let a = try make()
        await #expect(throws: AccountError.invalidEmail) { try await a.register(name: "Ada", email: "ada", password: "correct horse battery staple") }
        await #expect(throws: AccountError.invalidName) { try await a.register(name: "  ", email: "ada@example.org", password: "correct horse battery staple") }
        do {
            _ = try await a.register(name: "Ada", email: "ada@example.org", password: "password123")
            Issue.record("a weak password was accepted")
        } catch AccountError.weakPassword(let why) {
            #expect(why.contains("common"))
        }
    }

    @Test func loginsFailWithAGrowingDelay() async throws {
        let clock = Clock()
        let a = try make(clock)
        let u = try await a.register(name: "Ada", email: "ada@example.org", password: "correct horse battery staple")
        #expect(try await a.login(email: "ADA@example.org", password: "correct horse battery staple") == .success(u))
        #expect(try await a.login(email: "nobody@example.org", password: "x") == .invalid)
        for _ in 0..<4 { #expect(try await a.login(email: "ada@example.org", password: "wrong") == .invalid) }
        // The fifth failure starts the delay: even the right password waits.
        #expect(try await a.login(email: "ada@example.org", password: "wrong") == .invalid)
        #expect(try await a.login(email: "ada@example.org", password: "correct horse battery staple") == .delayed(retryAfter: 30))
        clock.now += 31
        #expect(try await a.login(email: "ada@example.org", password: "wrong") == .invalid)
        #expect(try await a.login(email: "ada@example.org", password: "correct horse battery staple") == .delayed(retryAfter: 60))
        clock.now += 61
        guard case .success = try await a.login(email: "ada@example.org", password: "correct horse battery staple") else {
            Issue.record("the right password after the delay failed"); return
        }
        // A success clears the count.
        #expect(try await a.login(email: "ada@example.org", password: "wrong") == .invalid)
        #expect(try a.db.user(email: "ada@example.org")?.failedLogins == 1)
    }

    @Test func sessionsAreKeptHashedAndExpire() async throws {
        let clock = Clock()
        let a = try make(clock)
        let u = try await a.register(name: "Ada", email: "ada@example.org", password: "correct horse battery staple")
        let s = try a.startSession(for: u)
        #expect(s.record.idHash == SHA256.hex(s.secret))
        #expect(try a.session(secret: s.secret)?.1.id == u.id)
        #expect(try a.session(secret: s.secret + "x") == nil)
        let s2 = try a.startSession(for: u)
        #expect(s2.secret != s.secret)
        #expect(s2.record.csrfToken != s.record.csrfToken)
        clock.now += 7 * 24 * 3600 + 1
        #expect(try a.session(secret: s.secret) == nil)
        let s3 = try a.startSession(for: u)
        try a.endSession(s3.record)
        #expect(try a.session(secret: s3.secret) == nil)
    }

    @Test func tokensAreShownOnceKeptHashedAndRevocable() async throws {
        let a = try make()
        let u = try await a.register(name: "Ada", email: "ada@example.org", password: "correct horse battery staple")
        let (secret, token) = try a.createToken(for: u, name: "backup")
        #expect(secret.hasPrefix("lmt_"))
        #expect(token.tokenHash == SHA256.hex(secret))
        #expect(try a.user(token: secret)?.id == u.id)
        #expect(try a.user(token: "lmt_nothing") == nil)
        #expect(try a.db.deleteToken(id: token.id!, userID: u.id!))
        #expect(try a.user(token: secret) == nil)
    }

    @Test func passwordChangeEndsOtherSessions() async throws {
        let a = try make()
        let u = try await a.register(name: "Ada", email: "ada@example.org", password: "correct horse battery staple")
        let keep = try a.startSession(for: u), other = try a.startSession(for: u)
        await #expect(throws: AccountError.wrongPassword) {
            try await a.changePassword(user: u, current: "nope", new: "violet-otter-gravel-sunrise", keepSession: keep.record)
        }
        try await a.changePassword(user: u, current: "correct horse battery staple", new: "violet-otter-gravel-sunrise", keepSession: keep.record)
        #expect(try a.session(secret: keep.secret) != nil)
        #expect(try a.session(secret: other.secret) == nil)
        #expect(try await a.login(email: "ada@example.org", password: "violet-otter-gravel-sunrise") != .invalid)
    }

    @Test func offlineReset() async throws {
        let a = try make()
        let u = try await a.register(name: "Ada", email: "ada@example.org", password: "correct horse battery staple")
        let s = try a.startSession(for: u)
        for _ in 0..<6 { _ = try await a.login(email: "ada@example.org", password: "wrong") }
        let r = try await a.reset(email: "ada@example.org", password: "violet-otter-gravel-sunrise", newEmail: "ada@new.example", newName: "Ada L.")
        #expect(r.email == "ada@new.example" && r.name == "Ada L." && r.lockedUntil == 0)
        #expect(try a.session(secret: s.secret) == nil)
        #expect(try await a.login(email: "ada@new.example", password: "violet-otter-gravel-sunrise") == .success(try a.db.user(email: "ada@new.example")!))
        await #expect(throws: AccountError.noSuchUser) { try await a.reset(email: "x@y.z", password: "violet-otter-gravel-sunrise", newEmail: nil, newName: nil) }
    }
}

@Suite struct RateLimiterTests {
    @Test func twentyPerFiveMinutesThenWait() {
        let r = RateLimiter(limit: 20, window: 300)
        for i in 0..<20 { #expect(r.hit("a", now: 1000 + Double(i)) == nil) }
        #expect(r.hit("a", now: 1020) == 280)
        #expect(r.hit("b", now: 1020) == nil)
        #expect(r.hit("a", now: 1300) == nil) // the first hit left the window
    }
}

@Suite struct ProxyTests {
    @Test func addressesAndBlocks() throws {
        #expect(IPAddress("127.0.0.1")!.isLoopback)
        #expect(IPAddress("::1")!.isLoopback)
        #expect(IPAddress("::ffff:127.0.0.1")!.isLoopback)
        #expect(IPAddress("[2001:db8::1]:443")!.description == "2001:db8::1")
        #expect(IPAddress("192.0.2.1:8080")!.description == "192.0.2.1")
        #expect(IPAddress("unknown") == nil)
        let c = try #require(CIDR("10.0.0.0/8"))
        #expect(c.contains(IPAddress("10.200.1.1")!))
        #expect(!c.contains(IPAddress("11.0.0.1")!))
        #expect(CIDR("2001:db8::/32")!.contains(IPAddress("2001:db8:ffff::1")!))
        #expect(CIDR("192.0.2.7")!.contains(IPAddress("192.0.2.7")!))
        #expect(CIDR("10.0.0.0/33") == nil)
        #expect(ProxyPolicy.parseTrusted("10.0.0.0/8, 192.0.2.7") == [CIDR("10.0.0.0/8")!, CIDR("192.0.2.7")!])
        #expect(ProxyPolicy.parseTrusted("10.0.0.0/8,nonsense") == nil)
    }

    @Test func headersAreBelievedOnlyFromTrustedPeers() {
        let p = ProxyPolicy(trusted: [CIDR("10.0.0.0/8")!])
        // A client talking to us directly cannot choose its address.
        var r = p.resolve(peer: "198.51.100.7", forwardedFor: ["1.2.3.4"], forwarded: [], proto: "https", forwardedPrefix: "/x")
        #expect(r == .init(client: "198.51.100.7", https: false, prefix: nil))
        // Through our proxy: the right-most address that is not a trusted proxy.
        r = p.resolve(peer: "10.0.0.2", forwardedFor: ["6.6.6.6, 203.0.113.5", "10.0.0.9"], forwarded: [], proto: "https", forwardedPrefix: "/lightmeter/")
        #expect(r == .init(client: "203.0.113.5", https: true, prefix: "/lightmeter"))
        // Loopback is always trusted.
        r = p.resolve(peer: "127.0.0.1", forwardedFor: ["203.0.113.5"], forwarded: [], proto: nil, forwardedPrefix: nil)
        #expect(r.client == "203.0.113.5")
        // RFC 7239.
        r = p.resolve(peer: "10.1.1.1", forwardedFor: ["9.9.9.9"], forwarded: ["for=192.0.2.60;proto=https, for=\"[2001:db8::1]:4711\""], proto: nil, forwardedPrefix: nil)
        #expect(r == .init(client: "2001:db8::1", https: true, prefix: nil))
        // Garbage stops the walk.
        r = p.resolve(peer: "10.1.1.1", forwardedFor: ["203.0.113.5, garbage, 10.0.0.3"], forwarded: [], proto: nil, forwardedPrefix: nil)
        #expect(r.client == "10.0.0.3")
        // The no-proxy flag: the socket only.
        let none = ProxyPolicy(noProxy: true)
        r = none.resolve(peer: "127.0.0.1", forwardedFor: ["203.0.113.5"], forwarded: [], proto: "https", forwardedPrefix: "/x")
        #expect(r == .init(client: "127.0.0.1", https: false, prefix: nil))
    }

    @Test func prefixesAreCleaned() {
        #expect(ProxyPolicy.cleanPrefix("/lightmeter/") == "/lightmeter")
        #expect(ProxyPolicy.cleanPrefix("/") == "")
        #expect(ProxyPolicy.cleanPrefix("//evil.example") == nil)
        #expect(ProxyPolicy.cleanPrefix("/a/../b") == nil)
        #expect(ProxyPolicy.cleanPrefix("/a\"><script>") == nil)
        #expect(ProxyPolicy.cleanPrefix("https://x") == nil)
    }
}
