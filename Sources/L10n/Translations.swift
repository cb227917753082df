import Foundation

/// Every user-facing string goes through here. Message ids are the English text; placeholders are
/// written `{{name}}` (the same in templates and in code); catalogues are gettext `.po` files named by
/// language (`de.po`, `pt_BR.po`), shipped with the binary and loaded at start-up.
public final class Translations: Sendable {
    struct Catalog: Sendable {
        var messages: [String: [String]]
        var plural: PluralRule
    }

    let catalogs: [String: Catalog]
    /// The languages there are, English first.
    public let languages: [String]

    public static let shared: Translations = {
        do {
            return try Translations(directory: Bundle.module.resourceURL!.appendingPathComponent("Catalogs").path)
        } catch {
            fatalError("translation catalogues: \(error)")
        }
    }()

    public init(directory: String) throws {
        var catalogs: [String: Catalog] = [:]
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for file in files.sorted() where file.hasSuffix(".po") {
            let language = String(file.dropLast(3))
            let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
            let po: POCatalog
            do { po = try POCatalog(parsing: text) } catch { throw POError(line: 0, message: "\(file): \(error)") }
            var messages: [String: [String]] = [:]
            for e in po.entries where !e.fuzzy && !e.strings.isEmpty && e.strings.allSatisfy({ !$0.isEmpty }) {
                messages[e.context.map { $0 + "\u{4}" + e.id } ?? e.id] = e.strings
            }
            let rule = try po.headers["Plural-Forms"].map { try PluralRule(header: $0) } ?? .english
            catalogs[language] = Catalog(messages: messages, plural: rule)
        }
        self.catalogs = catalogs
        self.languages = ["en"] + catalogs.keys.sorted()
    }

    public init(catalogs: [String: (messages: [String: [String]], plural: PluralRule)]) {
        self.catalogs = catalogs.mapValues { Catalog(messages: $0.messages, plural: $0.plural) }
        self.languages = ["en"] + catalogs.keys.sorted()
    }

    /// The language to answer in: the user's own choice if there is one we have, else the best of
    /// `Accept-Language` (`pt-BR`, `de-CH;q=0.8`, `*`), else `fallback`, else English.
    public func negotiate(acceptLanguage: String?, preferred: String? = nil, fallback: String? = nil) -> String {
        if let p = preferred.flatMap(match) { return p }
        var ranked: [(tag: String, q: Double, order: Int)] = []
        for (i, part) in (acceptLanguage ?? "").split(separator: ",").enumerated() {
            let fields = part.split(separator: ";")
            let tag = fields[0].trimmingSpaces()
            var q = 1.0
            for f in fields.dropFirst() {
                let f = f.trimmingSpaces()
                if f.hasPrefix("q="), let v = Double(f.dropFirst(2)) { q = v }
            }
            if !tag.isEmpty && q > 0 { ranked.append((tag, q, i)) }
        }
        ranked.sort { $0.q != $1.q ? $0.q > $1.q : $0.order < $1.order }
        for r in ranked where r.tag != "*" {
            if let l = match(r.tag) { return l }
        }
        return fallback.flatMap(match) ?? "en"
    }

    /// Our language for a tag: `pt-br` -> `pt_BR`, `de-AT` -> `de`, `pt` -> `pt_BR`.
    public func match(_ tag: String) -> String? {
        let norm = tag.replacingOccurrences(of: "-", with: "_")
        let parts = norm.split(separator: "_")
        guard let base = parts.first?.lowercased() else { return nil }
        let full = parts.count > 1 ? base + "_" + parts[1].uppercased() : base
        if languages.contains(full) { return full }
        if languages.contains(base) { return base }
        return languages.first { $0.hasPrefix(base + "_") }
    }

    public func localizer(_ language: String) -> Localizer {
        Localizer(language: language, catalog: catalogs[language])
    }

    /// The message ids a catalogue has translated (for the catalogue test).
    public func translated(_ language: String) -> [String: [String]] { catalogs[language]?.messages ?? [:] }
}

/// Translations and formats of one language.
public struct Localizer: Sendable {
    public let language: String
    let catalog: Translations.Catalog?

    public static let english = Localizer(language: "en", catalog: nil)

    /// The translation of `message`, its `{{name}}` placeholders filled from `values`.
    public func t(_ message: String, _ values: [String: String] = [:]) -> String {
        fill(catalog?.messages[message]?.first ?? message, values)
    }

    /// A message with a plural: `t("{{count}} message", "{{count}} messages", count: n)`.
    public func t(_ singular: String, _ plural: String, count: Int, _ values: [String: String] = [:]) -> String {
        var v = values
        v["count"] = v["count"] ?? number(count)
        if let c = catalog, let forms = c.messages[singular] {
            let i = c.plural.form(count)
            if i < forms.count { return fill(forms[i], v) }
        }
        return fill(count == 1 ? singular : plural, v)
    }

    /// The raw translation of a message id, placeholders left in (for templates).
    public func raw(_ message: String) -> String { catalog?.messages[message]?.first ?? message }

    func fill(_ s: String, _ values: [String: String]) -> String {
        guard !values.isEmpty, s.contains("{{") else { return s }
        var out = s
        for (k, v) in values { out = out.replacingOccurrences(of: "{{\(k)}}", with: v) }
        return out
    }

    public var locale: Locale { Locale(identifier: language) }

    public func number(_ n: Int) -> String {
        Formatters.shared.number(n, language: language)
    }

    /// A date and time, medium style for the language, in `timeZone`.
    public func dateTime(_ unix: Int64, timeZone: TimeZone = .current) -> String {
        Formatters.shared.date(unix, language: language, timeZone: timeZone, withTime: true)
    }

    public func date(_ unix: Int64, timeZone: TimeZone = .current) -> String {
        Formatters.shared.date(unix, language: language, timeZone: timeZone, withTime: false)
    }
}

/// Foundation's formatters, one per language, time zone and style: making one costs about 160 µs on
/// Linux, using one about 3 µs (a page of 50 messages formats some 150 dates). They are not safe to
/// share between threads: each is used under the lock.
final class Formatters: @unchecked Sendable {
    static let shared = Formatters()
    private let lock = NSLock()
    private var dates: [String: DateFormatter] = [:]
    private var numbers: [String: NumberFormatter] = [:]
    /// Time zones come from requests: the cache starts over beyond this many formatters.
    let limit = 256

    func date(_ unix: Int64, language: String, timeZone: TimeZone, withTime: Bool) -> String {
        lock.withLock {
            let f = Self.kept(&dates, "\(language) \(timeZone.identifier) \(withTime)", limit) {
                let f = DateFormatter()
                f.locale = Locale(identifier: language)
                f.timeZone = timeZone
                f.dateStyle = .medium
                f.timeStyle = withTime ? .medium : .none
                return f
            }
            return f.string(from: Date(timeIntervalSince1970: TimeInterval(unix)))
        }
    }

    func number(_ n: Int, language: String) -> String {
        lock.withLock {
            let f = Self.kept(&numbers, language, limit) {
                let f = NumberFormatter()
                f.locale = Locale(identifier: language)
                f.numberStyle = .decimal
                return f
            }
            return f.string(from: NSNumber(value: n)) ?? String(n)
        }
    }

    /// The formatter kept under `key`, made and kept first if there is none.
    private static func kept<F>(_ cache: inout [String: F], _ key: String, _ limit: Int, make: () -> F) -> F {
        if let f = cache[key] { return f }
        let f = make()
        if cache.count >= limit { cache.removeAll() }
        cache[key] = f
        return f
    }
}

/// Marks an English message id where it is written, for the extraction script and the catalogue test;
/// the translation happens where it is shown (`Localizer.t`).
public func N_(_ s: String) -> String { s }

/// A message id with the values of its `{{placeholders}}`, translated where it is shown.
public struct Message: Sendable, Equatable, CustomStringConvertible {
    public var id: String
    public var values: [String: String]

    public init(_ id: String, _ values: [String: String] = [:]) {
        self.id = id
        self.values = values
    }

    /// In English.
    public var description: String { Localizer.english.t(id, values) }
}

extension Localizer {
    public func t(_ m: Message) -> String { t(m.id, m.values) }
}
