import Dispatch
import Foundation
import HummingbirdBcrypt
import L10n
import Store

/// The rules of accounts: who may register, how passwords are kept and checked, sessions, tokens.
public struct AccountPolicy: Sendable {
    public var bcryptCost: UInt8 = 12
    public var sessionLifetime: Int64 = 7 * 24 * 3600
    /// Failed logins in a row an account takes before each further attempt waits.
    public var failuresBeforeDelay = 5
    public var firstDelay: Int64 = 30
    public var maxDelay: Int64 = 15 * 60
    /// Whether the administrator may add accounts beyond the first.
    public var allowMultipleUsers = false

    public init() {}
}

public enum AccountError: Error, Equatable, CustomStringConvertible {
    case alreadyRegistered
    case multipleUsersDisabled
    case notAdmin
    case invalidName
    case invalidEmail
    case emailTaken
    case weakPassword(String)
    case wrongPassword
    case noSuchUser

    /// English, a message id of the translation catalogues.
    public var description: String {
        switch self {
        case .alreadyRegistered: return N_("An administrator is registered already.")
        case .multipleUsersDisabled: return N_("This server has a single user; start it with -allow_multiple_users to add accounts.")
        case .notAdmin: return N_("Only an administrator can do this.")
        case .invalidName: return N_("Enter a name.")
        case .invalidEmail: return N_("Enter a valid e-mail address.")
        case .emailTaken: return N_("An account with this e-mail address exists already.")
        case .weakPassword(let why): return why
        case .wrongPassword: return N_("The current password is wrong.")
        case .noSuchUser: return N_("No account has this e-mail address.")
        }
    }
}

public enum LoginResult: Sendable, Equatable {
    case success(User)
    case invalid
    /// Too many failures in a row: try again in so many seconds.
    case delayed(retryAfter: Int64)
}

/// A session just opened: the secret goes in the cookie, only its hash in the database.
public struct NewSession: Sendable {
    public var secret: String
    public var record: SessionRecord
}

public struct Accounts: Sendable {
    public let db: AppDatabase
    public let policy: AccountPolicy
    let now: @Sendable () -> Int64
    let estimator: PasswordEstimator

    public init(db: AppDatabase, policy: AccountPolicy = AccountPolicy(),
                now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
                estimator: PasswordEstimator = .shared) {
        self.db = db
        self.policy = policy
        self.now = now
        self.estimator = estimator
    }

    public func needsRegistration() throws -> Bool { try db.userCount() == 0 }

    /// Registers the first administrator (when there is no user yet), or, by an administrator when
    /// several users are allowed, another account.
    public func register(name: String, email: String, password: String, by admin: User? = nil) async throws -> User {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        let email = email.trimmingCharacters(in: .whitespacesAndNewlines)
        if let admin {
            guard admin.isAdmin else { throw AccountError.notAdmin }
            guard policy.allowMultipleUsers else { throw AccountError.multipleUsersDisabled }
        } else if try !needsRegistration() {
            throw AccountError.alreadyRegistered
        }
        try validate(name: name, email: email, password: password)
        let hash = await hashPassword(password)
        let user = User(name: name, email: email, passwordHash: hash, isAdmin: admin == nil, createdAt: now())
        do {
            guard let saved = try db.insertUser(user, onlyIfNone: admin == nil) else { throw AccountError.alreadyRegistered }
            return saved
        } catch AccountStoreError.emailTaken {
            throw AccountError.emailTaken
        }
    }

    public func validate(name: String, email: String, password: String) throws {
        guard !name.isEmpty, name.count <= 200 else { throw AccountError.invalidName }
        guard Self.isValidEmail(email) else { throw AccountError.invalidEmail }
        let strength = estimator.estimate(password, userInputs: [name, email])
        guard strength.isAcceptable else {
            throw AccountError.weakPassword(strength.warning ?? N_("Add another word or two. Uncommon words are better."))
        }
    }

    public static func isValidEmail(_ s: String) -> Bool {
        guard s.count <= 254, !s.contains(where: { $0.isWhitespace || $0 == "<" || $0 == ">" }) else { return false }
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].count >= 1 else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { !$0.isEmpty }
    }

    /// Checks a login. Unknown addresses take as long as known ones.
    public func login(email: String, password: String) async throws -> LoginResult {
        let t = now()
        guard let user = try db.user(email: email.trimmingCharacters(in: .whitespaces)) else {
            _ = await verify(password, hash: await dummyHash())
            return .invalid
        }
        if user.lockedUntil > t { return .delayed(retryAfter: user.lockedUntil - t) }
        if await verify(password, hash: user.passwordHash) {
            if user.failedLogins > 0 || user.lockedUntil > 0 { try db.recordLogin(userID: user.id!, failedLogins: 0, lockedUntil: 0) }
            return .success(user)
        }
        let failures = user.failedLogins + 1
        var until: Int64 = 0
        if failures >= policy.failuresBeforeDelay {
            let steps = min(failures - policy.failuresBeforeDelay, 20)
            until = t + min(policy.firstDelay << Int64(steps), policy.maxDelay)
        }
        try db.recordLogin(userID: user.id!, failedLogins: failures, lockedUntil: until)
        return .invalid
    }

    /// A new session (a new id at each login).
    public func startSession(for user: User) throws -> NewSession {
        let secret = Secret.make()
        let t = now()
        let record = SessionRecord(idHash: SHA256.hex(secret), userID: user.id!, csrfToken: Secret.make(),
                                   createdAt: t, expiresAt: t + policy.sessionLifetime)
        try db.insertSession(record)
        return NewSession(secret: secret, record: record)
    }

    public func session(secret: String) throws -> (SessionRecord, User)? {
        guard secret.count >= 20, secret.count <= 100 else { return nil }
        return try db.session(idHash: SHA256.hex(secret), now: now())
    }

    public func endSession(_ record: SessionRecord) throws {
        try db.deleteSession(idHash: record.idHash)
    }

    // MARK: tokens

    public static let tokenPrefix = "lmt_"

    /// A personal API token: the secret is shown once; only its hash is kept.
    public func createToken(for user: User, name: String) throws -> (secret: String, token: APIToken) {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        let secret = Self.tokenPrefix + Secret.make()
        let token = try db.insertToken(APIToken(userID: user.id!, name: trimmed.isEmpty ? "token" : String(trimmed.prefix(100)),
                                                tokenHash: SHA256.hex(secret), prefix: String(secret.prefix(10)), createdAt: now()))
        return (secret, token)
    }

    public func user(token secret: String) throws -> User? {
        guard secret.hasPrefix(Self.tokenPrefix), secret.count <= 100 else { return nil }
        return try db.useToken(hash: SHA256.hex(secret), now: now())?.1
    }

    // MARK: changes

    /// Changes the password of a signed-in user, who proves the current one; other sessions end.
    public func changePassword(user: User, current: String, new: String, keepSession: SessionRecord?) async throws {
        guard await verify(current, hash: user.passwordHash) else { throw AccountError.wrongPassword }
        try validate(name: user.name, email: user.email, password: new)
        var u = user
        u.passwordHash = await hashPassword(new)
        try db.updateUser(u)
        try db.deleteSessions(userID: u.id!, except: keepSession?.idHash)
    }

    /// Offline recovery (`lightmeter -email_reset`): a new password, and optionally a new address and
    /// name, for the account with `email`. Every session of the account ends.
    public func reset(email: String, password: String, newEmail: String?, newName: String?) async throws -> User {
        guard var user = try db.user(email: email) else { throw AccountError.noSuchUser }
        let name = newName?.trimmingCharacters(in: .whitespaces) ?? user.name
        let address = newEmail?.trimmingCharacters(in: .whitespaces) ?? user.email
        try validate(name: name, email: address, password: password)
        user.name = name
        user.email = address
        user.passwordHash = await hashPassword(password)
        user.failedLogins = 0
        user.lockedUntil = 0
        do {
            try db.updateUser(user)
        } catch AccountStoreError.emailTaken {
            throw AccountError.emailTaken
        }
        try db.deleteSessions(userID: user.id!)
        return user
    }

    // MARK: bcrypt, off the event loops

    /// A hash of the policy's cost, for unknown addresses to take as long as known ones.
    func dummyHash() async -> String {
        let cost = policy.bcryptCost
        if let h = DummyHashes.shared.get(cost) { return h }
        let h = await offload { Bcrypt.hash("not a password of anybody", cost: cost) }
        DummyHashes.shared.set(cost, h)
        return h
    }

    func hashPassword(_ password: String) async -> String {
        let cost = policy.bcryptCost
        return await offload { Bcrypt.hash(password, cost: cost) }
    }

    func verify(_ password: String, hash: String) async -> Bool {
        await offload { Bcrypt.verify(password, hash: hash) }
    }

    private func offload<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { c in
            DispatchQueue.global().async { c.resume(returning: work()) }
        }
    }
}

final class DummyHashes: @unchecked Sendable {
    static let shared = DummyHashes()
    private let lock = NSLock()
    private var hashes: [UInt8: String] = [:]
    func get(_ cost: UInt8) -> String? { lock.withLock { hashes[cost] } }
    func set(_ cost: UInt8, _ h: String) { lock.withLock { hashes[cost] = h } }
}
