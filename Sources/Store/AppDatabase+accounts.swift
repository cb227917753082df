import GRDB

/// An account of the web UI.
public struct User: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "users"
    public var id: Int64?
    public var name: String
    public var email: String
    public var passwordHash: String
    public var isAdmin: Bool
    public var language: String?
    public var createdAt: Int64
    public var failedLogins: Int
    public var lockedUntil: Int64

    public init(id: Int64? = nil, name: String, email: String, passwordHash: String, isAdmin: Bool,
                language: String? = nil, createdAt: Int64, failedLogins: Int = 0, lockedUntil: Int64 = 0) {
        self.id = id
        self.name = name
        self.email = email
        self.passwordHash = passwordHash
        self.isAdmin = isAdmin
        self.language = language
        self.createdAt = createdAt
        self.failedLogins = failedLogins
        self.lockedUntil = lockedUntil
    }

    enum CodingKeys: String, CodingKey {
        case id, name, email, language
        case passwordHash = "password_hash", isAdmin = "is_admin", createdAt = "created_at"
        case failedLogins = "failed_logins", lockedUntil = "locked_until"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

/// A login session, found by the hash of the cookie's secret.
public struct SessionRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "sessions"
    public var idHash: String
    public var userID: Int64
    public var csrfToken: String
    public var createdAt: Int64
    public var expiresAt: Int64

    public init(idHash: String, userID: Int64, csrfToken: String, createdAt: Int64, expiresAt: Int64) {
        self.idHash = idHash
        self.userID = userID
        self.csrfToken = csrfToken
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case idHash = "id_hash", userID = "user_id", csrfToken = "csrf_token", createdAt = "created_at", expiresAt = "expires_at"
    }
}

/// A personal API token, found by the hash of its secret.
public struct APIToken: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "api_tokens"
    public var id: Int64?
    public var userID: Int64
    public var name: String
    public var tokenHash: String
    public var prefix: String
    public var createdAt: Int64
    public var lastUsedAt: Int64?

    public init(id: Int64? = nil, userID: Int64, name: String, tokenHash: String, prefix: String, createdAt: Int64, lastUsedAt: Int64? = nil) {
        self.id = id
        self.userID = userID
        self.name = name
        self.tokenHash = tokenHash
        self.prefix = prefix
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, prefix
        case userID = "user_id", tokenHash = "token_hash", createdAt = "created_at", lastUsedAt = "last_used_at"
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }
}

extension AppDatabase {
    // MARK: users

    public func userCount() throws -> Int {
        try reader.read { try User.fetchCount($0) }
    }

    public func users() throws -> [User] {
        try reader.read { try User.order(Column("id")).fetchAll($0) }
    }

    public func user(id: Int64) throws -> User? {
        try reader.read { try User.fetchOne($0, key: id) }
    }

    public func user(email: String) throws -> User? {
        try reader.read { try User.filter(sql: "email = ? COLLATE NOCASE", arguments: [email]).fetchOne($0) }
    }

    /// Inserts a user; with `onlyIfNone`, only when there is no user yet (the first administrator),
    /// checked in the same transaction so that two registrations cannot both succeed.
    public func insertUser(_ user: User, onlyIfNone: Bool = false) throws -> User? {
        try writer.write { db in
            if onlyIfNone, try User.fetchCount(db) > 0 { return nil }
            if try User.filter(sql: "email = ? COLLATE NOCASE", arguments: [user.email]).fetchCount(db) > 0 {
                throw AccountStoreError.emailTaken
            }
            var u = user
            try u.insert(db)
            return u
        }
    }

    public func updateUser(_ user: User) throws {
        try writer.write { db in
            if let id = user.id,
               try User.filter(sql: "email = ? COLLATE NOCASE AND id != ?", arguments: [user.email, id]).fetchCount(db) > 0 {
                throw AccountStoreError.emailTaken
            }
            try user.update(db)
        }
    }

    /// Records the result of a login attempt on an account.
    public func recordLogin(userID: Int64, failedLogins: Int, lockedUntil: Int64) throws {
        try writer.write { db in
            try db.execute(sql: "UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?",
                           arguments: [failedLogins, lockedUntil, userID])
        }
    }

    /// Deletes a user with its sessions and tokens. Returns whether it existed.
    @discardableResult
    public func deleteUser(id: Int64) throws -> Bool {
        try writer.write { db in try User.deleteOne(db, key: id) }
    }

    // MARK: sessions

    public func insertSession(_ s: SessionRecord) throws {
        try writer.write { db in
            try s.insert(db)
            // Expired sessions go when new ones come.
            try db.execute(sql: "DELETE FROM sessions WHERE expires_at < ?", arguments: [s.createdAt])
        }
    }

    /// The live session with this hash and its user.
    public func session(idHash: String, now: Int64) throws -> (SessionRecord, User)? {
        try reader.read { db in
            guard let s = try SessionRecord.fetchOne(db, key: idHash), s.expiresAt > now,
                  let u = try User.fetchOne(db, key: s.userID) else { return nil }
            return (s, u)
        }
    }

    public func deleteSession(idHash: String) throws {
        try writer.write { db in _ = try SessionRecord.deleteOne(db, key: idHash) }
    }

    /// Ends every session of a user (after a password change or reset), but `except` one.
    public func deleteSessions(userID: Int64, except: String? = nil) throws {
        try writer.write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE user_id = ? AND id_hash != ?", arguments: [userID, except ?? ""])
        }
    }

    // MARK: API tokens

    public func insertToken(_ t: APIToken) throws -> APIToken {
        try writer.write { db in
            var t = t
            try t.insert(db)
            return t
        }
    }

    public func tokens(userID: Int64) throws -> [APIToken] {
        try reader.read { try APIToken.filter(Column("user_id") == userID).order(Column("id")).fetchAll($0) }
    }

    /// The token with this hash and its user; notes when it was used.
    public func useToken(hash: String, now: Int64) throws -> (APIToken, User)? {
        try writer.write { db in
            guard var t = try APIToken.filter(Column("token_hash") == hash).fetchOne(db),
                  let u = try User.fetchOne(db, key: t.userID) else { return nil }
            if (t.lastUsedAt ?? 0) < now - 60 {
                t.lastUsedAt = now
                try t.update(db)
            }
            return (t, u)
        }
    }

    /// Revokes a token of a user. Returns whether it existed.
    @discardableResult
    public func deleteToken(id: Int64, userID: Int64) throws -> Bool {
        try writer.write { db in
            try db.execute(sql: "DELETE FROM api_tokens WHERE id = ? AND user_id = ?", arguments: [id, userID])
            return db.changesCount > 0
        }
    }

    // MARK: settings

    public func settings() throws -> [String: String] {
        try reader.read { db in
            var out: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM settings") { out[row["key"]] = row["value"] }
            return out
        }
    }

    public func setting(_ key: String) throws -> String? {
        try reader.read { try String.fetchOne($0, sql: "SELECT value FROM settings WHERE key = ?", arguments: [key]) }
    }

    /// Writes settings in one transaction; a nil value removes the key.
    public func saveSettings(_ values: [String: String?]) throws {
        try writer.write { db in
            for (k, v) in values {
                if let v {
                    try db.execute(sql: "INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                   arguments: [k, v])
                } else {
                    try db.execute(sql: "DELETE FROM settings WHERE key = ?", arguments: [k])
                }
            }
        }
    }
}

public enum AccountStoreError: Error, Equatable, CustomStringConvertible {
    case emailTaken
    public var description: String {
        switch self {
        case .emailTaken: return "an account with this e-mail address exists already"
        }
    }
}
