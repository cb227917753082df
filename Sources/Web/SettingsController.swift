import Auth
import Foundation
import Hummingbird
import Insights
import L10n
import Notify
import Store

/// The Settings page and API: the user's own account, the workspace settings (administrators), API
/// tokens, and users when several are allowed.
struct SettingsController {
    let accounts: Accounts
    let settings: SettingsStore
    let translations: Translations
    let pages: Pages
    let notifier: Notifier

    func addRoutes(to router: some RouterMethods<AppRequestContext>) {
        router.get("/settings", use: page)
        router.post("/settings", use: saveSettings)
        router.post("/settings/account", use: saveAccount)
        router.post("/settings/password", use: changePassword)
        router.post("/settings/tokens", use: createToken)
        router.post("/settings/tokens/:id/delete", use: revokeToken)
        router.post("/settings/users", use: addUser)
        router.post("/settings/users/:id/delete", use: deleteUser)
        router.post("/settings/notifications/test", use: testPage)
        router.get("/api/v0/notifications", use: apiNotifications)
        router.post("/api/v0/notifications/test", use: apiTest)
        router.get("/api/v0/settings", use: apiGet)
        router.post("/api/v0/settings", use: apiSave)
        router.get("/api/v0/user", use: apiUser)
        router.get("/api/v0/tokens", use: apiTokens)
        router.post("/api/v0/tokens", use: apiCreateToken)
        router.delete("/api/v0/tokens/:id", use: apiRevokeToken)
    }

    // MARK: page

    func view(_ context: AppRequestContext, fieldErrors: [String: Message] = [:], submitted: [String: String] = [:],
              extra: [String: Any] = [:], status: HTTPResponse.Status = .ok) throws -> Response {
        let user = try context.requireIdentity()
        let l = context.localizer
        var values: [String: Any] = extra
        values["navSettings"] = true
        values["isAdmin"] = user.isAdmin
        values["account"] = [
            "name": user.name, "email": user.email,
            "languages": [["value": "", "label": l.t("As the browser asks"), "selected": user.language == nil]]
                + translations.languages.map { ["value": $0, "label": Self.languageNames[$0] ?? $0, "selected": user.language == $0] },
        ] as [String: Any]
        values["groups"] = try SettingsSchema.sections.map { section -> [String: Any] in
            var v: [String: Any] = [
                "name": section, "title": l.t(SettingsSchema.sectionTitles[section]!),
                "fields": SettingsSchema.fields.filter { $0.section == section }.map { f in
                    fieldView(f, l, error: fieldErrors[f.key.rawValue], submitted: submitted[f.key.rawValue])
                },
                "isChannel": false,
            ]
            if SettingsSchema.channelSections.contains(section) {
                v["isChannel"] = try channelView(section, l)
            }
            return v
        }
        let tokens = try accounts.db.tokens(userID: user.id!)
        values["hasTokens"] = !tokens.isEmpty
        values["tokens"] = tokens.map { t -> [String: Any] in
            ["id": t.id!, "name": t.name, "prefix": t.prefix, "created": l.dateTime(t.createdAt),
             "lastUsed": t.lastUsedAt.map { l.dateTime($0) } ?? l.t("never")]
        }
        if user.isAdmin && accounts.policy.allowMultipleUsers {
            values["manageUsers"] = true
            values["users"] = try accounts.db.users().map { u -> [String: Any] in
                ["id": u.id!, "name": u.name, "email": u.email, "role": u.isAdmin ? l.t("administrator") : l.t("user"), "isSelf": u.id == user.id]
            }
        }
        return pages.render("settings", values, context: context, status: status)
    }

    /// A channel's state: set up or not, its outbox, its last delivery or test.
    func channelView(_ channel: String, _ l: Localizer) throws -> [String: Any] {
        let configured = NotifyConfig.load(settings.lookup).configured.contains(channel)
        let summary = try accounts.db.outboxSummary(channel: channel)
        var v: [String: Any] = ["channel": channel, "configured": configured,
                                "pending": l.number(summary.pending), "sent": l.number(summary.sent), "failed": l.number(summary.failed)]
        v["lastError"] = summary.lastError.map { l.t(DeliveryError.message(stored: $0)) } ?? false
        if let s = Notifier.status(accounts.db, channel: channel) {
            let what = s.test ? (s.ok ? l.t("The test notification was sent ({{time}}).", ["time": l.dateTime(s.time)])
                                      : l.t("The test notification failed ({{time}}):", ["time": l.dateTime(s.time)]))
                              : (s.ok ? l.t("Last notification sent {{time}}.", ["time": l.dateTime(s.time)])
                                      : l.t("The last notification failed ({{time}}):", ["time": l.dateTime(s.time)]))
            v["status"] = ["ok": s.ok, "text": what, "message": s.message.map { l.t(DeliveryError.message(stored: $0)) } ?? ""] as [String: Any]
        } else {
            v["status"] = false
        }
        return v
    }

    static let languageNames = ["en": "English", "de": "Deutsch", "es": "Español", "fr": "Français", "pt_BR": "Português (Brasil)"]

    func fieldView(_ f: SettingField, _ l: Localizer, error: Message?, submitted: String?) -> [String: Any] {
        let stored = settings.value(f.key) ?? ""
        var v: [String: Any] = [
            "key": f.key.rawValue, "id": f.key.rawValue.replacingOccurrences(of: ".", with: "-"),
            "label": l.t(f.label), "help": l.t(f.help), "value": submitted ?? stored,
            "placeholder": f.defaultValue, "isBool": false, "isChoice": false, "isSecret": false, "isInput": false, "isKinds": false,
        ]
        // Always set: a key missing here would be looked up in the page around (its own "error").
        v["fieldError"] = error.map { l.t($0) } ?? false
        switch f.kind {
        case .bool:
            v["isBool"] = true
            v["checked"] = (submitted ?? stored) == "true"
        case .secret:
            v["isSecret"] = true
            v["secretSet"] = settings.isSet(f.key)
        case .choice(let options):
            v["isChoice"] = true
            v["options"] = options.map { ["value": $0, "label": $0, "selected": $0 == (submitted ?? stored)] }
        case .language:
            v["isChoice"] = true
            v["options"] = [["value": "", "label": l.t("As the browser asks"), "selected": stored.isEmpty]]
                + translations.languages.map { ["value": $0, "label": Self.languageNames[$0] ?? $0, "selected": $0 == (submitted ?? stored)] }
        case .kinds(let options):
            let chosen = Set((submitted ?? stored).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            v["isKinds"] = true
            v["options"] = options.map { ["value": $0, "label": InsightText.kind($0, l), "checked": chosen.contains($0),
                                          "id": f.key.rawValue.replacingOccurrences(of: ".", with: "-") + "-" + $0] }
        case .integer:
            v["isInput"] = true
            v["inputType"] = "number"
        case .url:
            v["isInput"] = true
            v["inputType"] = "url"
        case .email:
            v["isInput"] = true
            v["inputType"] = "email"
        default:
            v["isInput"] = true
            v["inputType"] = "text"
        }
        return v
    }

    @Sendable func page(_ request: Request, context: AppRequestContext) async throws -> Response {
        var extra: [String: Any] = [:]
        if request.uri.queryParameters["saved"] != nil { extra["notice"] = context.localizer.t("Saved.") }
        return try view(context, extra: extra)
    }

    func redirectSaved(_ context: AppRequestContext, _ anchor: String) -> Response {
        .redirect(to: context.base + "/settings?saved=1#" + anchor, type: .normal)
    }

    @Sendable func saveSettings(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireIdentity()
        guard user.isAdmin else { throw HTTPError(.forbidden, message: "only an administrator can change these settings") }
        var request = request
        let form = try await request.form(context)
        let group = form["group"] ?? ""
        var changes: [String: String?] = [:]
        for f in SettingsSchema.fields where f.section == group {
            if case .kinds = f.kind {
                // Checkboxes: each checked one is a value; a hidden empty one says the list was there.
                let all = form.all(f.key.rawValue)
                if !all.isEmpty {
                    let chosen = all.filter { !$0.isEmpty }
                    changes[f.key.rawValue] = chosen.isEmpty ? "none" : chosen.joined(separator: ",")
                }
            } else if let v = form[f.key.rawValue] {
                changes[f.key.rawValue] = v
            }
        }
        let clear = Set(form.all("clear"))
        do {
            try settings.update(changes, clearSecrets: clear)
            context.logger.info("settings saved", metadata: ["group": .string(group), "user": .stringConvertible(user.id ?? 0)])
            return redirectSaved(context, "settings-" + group)
        } catch let e as SettingsError {
            var submitted: [String: String] = [:]
            for (k, v) in changes where SettingsSchema.field(k)?.kind != .secret { submitted[k] = v ?? "" }
            return try view(context, fieldErrors: e.problems, submitted: submitted,
                            extra: ["error": context.localizer.t("Some settings are not valid; nothing was saved.")], status: .unprocessableContent)
        }
    }

    @Sendable func testPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireIdentity()
        guard user.isAdmin else { throw HTTPError(.forbidden, message: "only an administrator can send test notifications") }
        var request = request
        let form = try await request.form(context)
        let channel = form["channel"] ?? ""
        guard SettingsSchema.channelSections.contains(channel) else { throw HTTPError(.badRequest, message: "channel must be slack, email or webhook") }
        _ = await notifier.sendTest(channel: channel)
        return .redirect(to: context.base + "/settings#settings-" + channel, type: .normal)
    }

    struct ChannelReport: Encodable {
        var channel: String
        var configured: Bool
        var pending: Int
        var sent: Int
        var failed: Int
        var lastError: String?
        var last: ChannelStatus?
    }

    @Sendable func apiNotifications(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireIdentity()
        guard user.isAdmin else { throw HTTPError(.forbidden) }
        let configured = NotifyConfig.load(settings.lookup).configured
        return try json(try NotifyConfig.channelNames.map { c in
            let s = try accounts.db.outboxSummary(channel: c)
            // The errors in English, as the API writes everything.
            var last = Notifier.status(accounts.db, channel: c)
            if let stored = last?.message { last?.message = DeliveryError.message(stored: stored).description }
            return ChannelReport(channel: c, configured: configured.contains(c), pending: s.pending, sent: s.sent, failed: s.failed,
                                 lastError: s.lastError.map { DeliveryError.message(stored: $0).description }, last: last)
        })
    }

    struct TestResult: Encodable {
        var channel: String
        var ok: Bool
        var error: String?
    }

    @Sendable func apiTest(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireIdentity()
        guard user.isAdmin else { throw HTTPError(.forbidden) }
        struct Body: Decodable { var channel: String }
        let body = try await request.decode(as: Body.self, context: context)
        guard SettingsSchema.channelSections.contains(body.channel) else { throw HTTPError(.badRequest, message: "channel must be slack, email or webhook") }
        switch await notifier.sendTest(channel: body.channel) {
        case .success: return try json(TestResult(channel: body.channel, ok: true))
        case .failure(let e): return try json(TestResult(channel: body.channel, ok: false, error: e.message))
        }
    }

    @Sendable func saveAccount(_ request: Request, context: AppRequestContext) async throws -> Response {
        var user = try context.requireIdentity()
        var request = request
        let form = try await request.form(context)
        let name = (form["name"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let email = (form["email"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let language = form["language"] ?? ""
        guard !name.isEmpty, name.count <= 200 else { return try view(context, extra: ["error": context.localizer.t(AccountError.invalidName.description)], status: .unprocessableContent) }
        guard Accounts.isValidEmail(email) else { return try view(context, extra: ["error": context.localizer.t(AccountError.invalidEmail.description)], status: .unprocessableContent) }
        user.name = name
        user.email = email
        user.language = translations.languages.contains(language) ? language : nil
        do {
            try accounts.db.updateUser(user)
        } catch AccountStoreError.emailTaken {
            return try view(context, extra: ["error": context.localizer.t(AccountError.emailTaken.description)], status: .unprocessableContent)
        }
        return redirectSaved(context, "account")
    }

    @Sendable func changePassword(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireIdentity()
        var request = request
        let form = try await request.form(context)
        do {
            try await accounts.changePassword(user: user, current: form["current"] ?? "", new: form["password"] ?? "", keepSession: context.session)
            return redirectSaved(context, "account")
        } catch let e as AccountError {
            return try view(context, extra: ["error": context.localizer.t(e.description)], status: .unprocessableContent)
        }
    }

    @Sendable func createToken(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireIdentity()
        var request = request
        let form = try await request.form(context)
        let (secret, _) = try accounts.createToken(for: user, name: form["name"] ?? "")
        return try view(context, extra: ["newToken": secret])
    }

    @Sendable func revokeToken(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireIdentity()
        let id = try context.parameters.require("id", as: Int64.self)
        guard try accounts.db.deleteToken(id: id, userID: user.id!) else { throw HTTPError(.notFound) }
        return redirectSaved(context, "tokens")
    }

    @Sendable func addUser(_ request: Request, context: AppRequestContext) async throws -> Response {
        let admin = try context.requireIdentity()
        var request = request
        let form = try await request.form(context)
        do {
            _ = try await accounts.register(name: form["name"] ?? "", email: form["email"] ?? "", password: form["password"] ?? "", by: admin)
            return redirectSaved(context, "users")
        } catch AccountError.notAdmin, AccountError.multipleUsersDisabled {
            throw HTTPError(.forbidden, message: "only an administrator of a server started with -allow_multiple_users can add users")
        } catch let e as AccountError {
            return try view(context, extra: ["error": context.localizer.t(e.description)], status: .unprocessableContent)
        }
    }

    @Sendable func deleteUser(_ request: Request, context: AppRequestContext) async throws -> Response {
        let admin = try context.requireIdentity()
        guard admin.isAdmin, accounts.policy.allowMultipleUsers else { throw HTTPError(.forbidden) }
        let id = try context.parameters.require("id", as: Int64.self)
        guard id != admin.id else { throw HTTPError(.badRequest, message: "you cannot delete your own account") }
        guard try accounts.db.deleteUser(id: id) else { throw HTTPError(.notFound) }
        return redirectSaved(context, "users")
    }

    // MARK: API

    @Sendable func apiGet(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireIdentity()
        return try json(settings.publicView())
    }

    /// `{"general": {"public_url": "..."}, "notifications": {"slack_token": "..."}}`: only the fields
    /// given change; `null` clears one.
    @Sendable func apiSave(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireIdentity()
        guard user.isAdmin else { throw HTTPError(.forbidden, message: "only an administrator can change settings") }
        var request = request
        let body = try await request.collectBody(upTo: context.maxUploadSize)
        guard let object = try? JSONDecoder().decode([String: [String: JSONScalar]].self, from: Data(buffer: body)) else {
            throw HTTPError(.badRequest, message: "expected a JSON object of setting groups, each an object of values")
        }
        var changes: [String: String?] = [:]
        var clear: Set<String> = []
        for (group, fields) in object {
            for (name, value) in fields {
                let key = group + "." + name
                changes[key] = value.text
                if value.text == nil { clear.insert(key) }
            }
        }
        do {
            try settings.update(changes, clearSecrets: clear)
        } catch let e as SettingsError {
            var r = try json(["errors": e.problems.mapValues { context.localizer.t($0) }])
            r.status = .unprocessableContent
            return r
        }
        return try json(settings.publicView())
    }

    struct UserView: Encodable { var id: Int64; var name: String; var email: String; var isAdmin: Bool; var language: String? }

    @Sendable func apiUser(_ request: Request, context: AppRequestContext) async throws -> Response {
        let u = try context.requireIdentity()
        return try json(UserView(id: u.id!, name: u.name, email: u.email, isAdmin: u.isAdmin, language: u.language))
    }

    struct TokenView: Encodable { var id: Int64; var name: String; var prefix: String; var createdAt: Int64; var lastUsedAt: Int64?; var token: String? }

    @Sendable func apiTokens(_ request: Request, context: AppRequestContext) async throws -> Response {
        let u = try context.requireIdentity()
        return try json(try accounts.db.tokens(userID: u.id!).map {
            TokenView(id: $0.id!, name: $0.name, prefix: $0.prefix, createdAt: $0.createdAt, lastUsedAt: $0.lastUsedAt, token: nil)
        })
    }

    struct TokenRequest: Decodable { var name: String? }

    @Sendable func apiCreateToken(_ request: Request, context: AppRequestContext) async throws -> Response {
        let u = try context.requireIdentity()
        let body = try? await request.decode(as: TokenRequest.self, context: context)
        let (secret, t) = try accounts.createToken(for: u, name: body?.name ?? "")
        var r = try json(TokenView(id: t.id!, name: t.name, prefix: t.prefix, createdAt: t.createdAt, lastUsedAt: nil, token: secret))
        r.status = .created
        return r
    }

    @Sendable func apiRevokeToken(_ request: Request, context: AppRequestContext) async throws -> Response {
        let u = try context.requireIdentity()
        let id = try context.parameters.require("id", as: Int64.self)
        guard try accounts.db.deleteToken(id: id, userID: u.id!) else { throw HTTPError(.notFound) }
        return Response(status: .noContent)
    }
}

/// A JSON value of a setting: null, a boolean, a number or a string.
enum JSONScalar: Decodable {
    case null, bool(Bool), int(Int), double(Double), string(String)

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else { self = .string(try c.decode(String.self)) }
    }

    var text: String? {
        switch self {
        case .null: return nil
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .string(let s): return s
        }
    }
}

func json(_ value: some Encodable) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
                    body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
}
