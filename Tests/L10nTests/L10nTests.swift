import Foundation
import Testing
@testable import L10n

@Suite struct POTests {
    @Test func parsesEntriesPluralsContextsAndEscapes() throws {
        let po = try POCatalog(parsing: #"""
            # comment
            msgid ""
            msgstr ""
            "Language: de\n"
            "Plural-Forms: nplurals=2; plural=(n != 1);\n"

            #: Templates/login.mustache
            msgid "Log in"
            msgstr "Anmelden"

            msgid ""
            "Two "
            "lines"
            msgstr "Zwei \"Zeilen\"\n"

            msgctxt "status"
            msgid "sent"
            msgstr "zugestellt"

            msgid "{{count}} message"
            msgid_plural "{{count}} messages"
            msgstr[0] "{{count}} Nachricht"
            msgstr[1] "{{count}} Nachrichten"

            #, fuzzy
            msgid "Maybe"
            msgstr "Vielleicht"
            """#)
        #expect(po.headers["Language"] == "de")
        #expect(po.entries.count == 5)
        #expect(po.entries[0] == .init(context: nil, id: "Log in", plural: nil, strings: ["Anmelden"], fuzzy: false))
        #expect(po.entries[1].id == "Two lines" && po.entries[1].strings == ["Zwei \"Zeilen\"\n"])
        #expect(po.entries[2].context == "status")
        #expect(po.entries[3].strings == ["{{count}} Nachricht", "{{count}} Nachrichten"])
        #expect(po.entries[4].fuzzy)
        #expect(throws: POError.self) { try POCatalog(parsing: "msgid \"x\nmsgstr \"y\"") }
    }

    @Test func pluralRules() throws {
        let fr = try PluralRule(header: "nplurals=2; plural=(n > 1);")
        #expect([0, 1, 2, 10].map(fr.form) == [0, 0, 1, 1])
        let en = PluralRule.english
        #expect([0, 1, 2].map(en.form) == [1, 0, 1])
        let ru = try PluralRule(header: "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2);")
        #expect([1, 2, 5, 11, 21, 22, 25, 111, 112].map(ru.form) == [0, 1, 2, 2, 0, 1, 2, 2, 2])
        #expect(throws: POError.self) { try PluralRule(header: "nplurals=2; plural=(n != ;") }
    }
}

@Suite struct NegotiationTests {
    let t = Translations(catalogs: [
        "de": (["Log in": ["Anmelden"], "{{count}} message": ["{{count}} Nachricht", "{{count}} Nachrichten"]], .english),
        "pt_BR": (["Log in": ["Entrar"]], try! PluralRule(header: "nplurals=2; plural=(n > 1);")),
    ])

    @Test func acceptLanguage() {
        #expect(t.negotiate(acceptLanguage: "de-CH, en;q=0.8") == "de")
        #expect(t.negotiate(acceptLanguage: "fr, pt-BR;q=0.9, de;q=0.5") == "pt_BR")
        #expect(t.negotiate(acceptLanguage: "pt") == "pt_BR")
        #expect(t.negotiate(acceptLanguage: "en;q=0.1, de;q=0.9") == "de")
        #expect(t.negotiate(acceptLanguage: "ja, *") == "en")
        #expect(t.negotiate(acceptLanguage: nil, fallback: "de") == "de")
        #expect(t.negotiate(acceptLanguage: "de", preferred: "pt_BR") == "pt_BR")
    }

    @Test func lookupPluralsAndPlaceholders() {
        let de = t.localizer("de")
        #expect(de.t("Log in") == "Anmelden")
        #expect(de.t("Not translated") == "Not translated")
        #expect(de.t("{{count}} message", "{{count}} messages", count: 1) == "1 Nachricht")
        #expect(de.t("{{count}} message", "{{count}} messages", count: 1200) == "1.200 Nachrichten")
        #expect(Localizer.english.t("{{count}} message", "{{count}} messages", count: 2) == "2 messages")
        #expect(Localizer.english.t("Hello {{name}}", ["name": "Ada"]) == "Hello Ada")
    }
}

@Suite struct FormatTests {
    /// What a formatter made for the call writes.
    static func expected(_ unix: Int64, _ language: String, _ zone: String, time: Bool) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: language)
        f.timeZone = TimeZone(identifier: zone)!
        f.dateStyle = .medium
        f.timeStyle = time ? .medium : .none
        return f.string(from: Date(timeIntervalSince1970: TimeInterval(unix)))
    }

    /// Formatters are kept and shared between threads (making one costs 50 times using one): every
    /// call, from many threads at once, writes what a formatter of its own would.
    @Test func keptFormattersWriteWhatNewOnesWouldFromAnyThread() {
        let translations = Translations.shared
        let languages = ["en", "de", "fr", "es", "pt_BR"]
        let zones = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]
        struct Case { var unix: Int64; var language: String; var zone: String; var time: Bool }
        var list: [Case] = []
        for i in 0..<400 {
            let unix = Int64(1_700_000_000) + Int64(i) * 7_919
            list.append(Case(unix: unix, language: languages[i % 5], zone: zones[i % 4], time: i % 3 != 0))
        }
        let cases = list
        let expected = cases.map { Self.expected($0.unix, $0.language, $0.zone, time: $0.time) }
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var got: [Int: String] = [:]
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: cases.count) { i in
            let c = cases[i]
            let l = translations.localizer(c.language)
            let tz = TimeZone(identifier: c.zone)!
            let s = c.time ? l.dateTime(c.unix, timeZone: tz) : l.date(c.unix, timeZone: tz)
            results.lock.withLock { results.got[i] = s }
        }
        #expect(cases.indices.map { results.got[$0] } == expected)
        #expect(translations.localizer("de").number(1234567) == "1.234.567")
        #expect(translations.localizer("en").number(1234567) == "1,234,567")
    }
}
