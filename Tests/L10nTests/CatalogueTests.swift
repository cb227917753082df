import Foundation
import Testing
@testable import L10n

/// Every string of the templates and the sources is in every catalogue, with the same placeholders.
@Suite struct CatalogueTests {
    static var root: String {
        var dir = #filePath
        for _ in 0..<3 { dir = String(dir[..<dir.lastIndex(of: "/")!]) }
        return dir
    }

    /// The strings, found as `scripts/l10n-extract` finds them.
    static func extract() throws -> Set<String> {
        var found = Set<String>()
        let template = try NSRegularExpression(pattern: #"\{\{#t\}\}(.*?)\{\{/t\}\}"#, options: [.dotMatchesLineSeparators])
        let swift = try NSRegularExpression(pattern: #"(?:\bN_|\.t)\(\s*"((?:[^"\\]|\\.)*)""#)
        let files = FileManager.default.enumerator(atPath: root + "/Sources")!
        while let f = files.nextObject() as? String {
            guard f.hasSuffix(".mustache") || f.hasSuffix(".swift") else { continue }
            let text = try String(contentsOfFile: root + "/Sources/" + f, encoding: .utf8)
            let ns = text as NSString
            let re = f.hasSuffix(".swift") ? swift : template
            for m in re.matches(in: text, range: NSRange(location: 0, length: ns.length)) {
                var s = ns.substring(with: m.range(at: 1))
                if f.hasSuffix(".swift") {
                    s = s.replacingOccurrences(of: #"\""#, with: "\"").replacingOccurrences(of: #"\\"#, with: "\\")
                } else {
                    s = s.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                found.insert(s)
            }
        }
        return found
    }

    static func placeholders(_ s: String) -> Set<String> {
        let re = try! NSRegularExpression(pattern: #"\{\{(\w+)\}\}"#)
        let ns = s as NSString
        return Set(re.matches(in: s, range: NSRange(location: 0, length: ns.length)).map { ns.substring(with: $0.range(at: 1)) })
    }

    @Test func everyCatalogueTranslatesEveryString() throws {
        let strings = try Self.extract()
        #expect(strings.count > 200)
        let t = try Translations(directory: Self.root + "/Sources/L10n/Catalogs")
        #expect(Set(t.languages) == ["en", "de", "es", "fr", "pt_BR"])
        for language in t.languages where language != "en" {
            let catalogue = t.translated(language)
            for s in strings.sorted() {
                guard let forms = catalogue[s], let first = forms.first, !first.isEmpty else {
                    Issue.record("\(language).po does not translate \"\(s)\"")
                    continue
                }
                #expect(Self.placeholders(first) == Self.placeholders(s), "\(language).po: the placeholders of \"\(s)\" differ")
            }
        }
    }

    @Test func theShippedCataloguesLoad() {
        let t = Translations.shared
        #expect(t.localizer("de").t("Log in") == "Anmelden")
        #expect(t.localizer("pt_BR").t("Log in") == "Entrar")
        #expect(t.localizer("es").t("Log in") == "Iniciar sesión")
        #expect(t.localizer("fr").t("Log in") == "Se connecter")
        #expect(t.localizer("fr").t("Page {{page}}", ["page": "3"]) == "Page 3")
        #expect(t.localizer("de").number(1234567) == "1.234.567")
    }
}
