import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import Web

/// Pages come back in the language the browser asks for, else the user's own choice.
@Suite struct LanguageTests {
    @Test(arguments: [("de", "Anmelden", "de"), ("pt-BR,pt;q=0.9", "Entrar", "pt-BR"), ("es-ES", "Iniciar sesión", "es"),
                      ("fr-CH, fr;q=0.9, en;q=0.8", "Se connecter", "fr"), ("ja", "Log in", "en")])
    func theLoginPageFollowsAcceptLanguage(_ header: String, _ expected: String, _ lang: String) async throws {
        let web = try await TestWeb()
        try await web.admin()
        try await web.test { b in
            let r = try await b.request("/login", headers: [.acceptLanguage: header])
            #expect(r.text.contains("<h1>\(expected)</h1>"))
            #expect(r.text.contains("<html lang=\"\(lang)\">"))
        }
    }

    @Test func theDashboardInGermanAndTheUsersOwnLanguage() async throws {
        let (web, dir) = try await DashboardTests.seeded()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await web.test { b in
            try await b.login()
            var r = try await b.request("/?from=2026-01-01&to=2026-01-02&tz=UTC", headers: [.acceptLanguage: "de"])
            #expect(r.text.contains("Zustellungen im Zeitverlauf"))
            #expect(r.text.contains("Nachrichten, zuerst gesehen vom 2026-01-01 bis 2026-01-02"))
            #expect(r.text.contains(">Zugestellt<"))
            // The user chooses French: it wins over the browser.
            r = try await b.request("/settings/account", .post, form: ["name": "Ada", "email": "ada@example.org", "language": "fr"],
                                    headers: [.acceptLanguage: "de"])
            r = try await b.request("/", headers: [.acceptLanguage: "de"])
            #expect(r.text.contains("Tableau de bord"))
            // An invalid setting's message, translated with its values.
            r = try await b.request("/settings", .post, form: ["group": "general", "general.data_retention_days": "0"])
            #expect(r.text.contains("Saisissez un nombre entier de 1 à 3650."))
        }
    }
}
