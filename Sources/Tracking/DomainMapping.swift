/// Related provider domains counted as one (outlook.com / hotmail.com / live.com...).
///
/// A default mapping is built in; a JSON file in the workspace (`domain_mapping.json`, an object of
/// `"canonical": ["alias", ...]`) replaces or extends entries without a rebuild.
public struct DomainMapping: Sendable {
    var aliases: [String: String]

    public static let defaultGroups: [String: [String]] = [
        "outlook.com": ["hotmail.com", "live.com", "msn.com", "outlook.fr", "outlook.de", "hotmail.co.uk", "hotmail.fr",
                        "hotmail.de", "hotmail.it", "hotmail.es", "live.fr", "live.de", "live.co.uk", "live.nl",
                        "outlook.es", "outlook.it", "windowslive.com", "passport.com"],
        "gmail.com": ["googlemail.com"],
        "yahoo.com": ["yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.it", "yahoo.es", "yahoo.co.jp", "ymail.com",
                      "rocketmail.com", "yahoo.com.br", "yahoo.ca", "yahoo.in", "aol.com", "aim.com"],
        "icloud.com": ["me.com", "mac.com"],
        "gmx.net": ["gmx.de", "gmx.com", "gmx.at", "gmx.ch", "web.de"],
        "yandex.ru": ["yandex.com", "ya.ru", "yandex.ua", "yandex.by", "yandex.kz"],
        "mail.ru": ["inbox.ru", "list.ru", "bk.ru"],
        "protonmail.com": ["proton.me", "pm.me", "protonmail.ch"],
        "orange.fr": ["wanadoo.fr"],
        "comcast.net": ["xfinity.com"],
    ]

    public init(groups: [String: [String]] = DomainMapping.defaultGroups) {
        aliases = [:]
        for (canonical, list) in groups {
            for a in list { aliases[a.lowercased()] = canonical.lowercased() }
            aliases[canonical.lowercased()] = canonical.lowercased()
        }
    }

    /// The default groups with `overrides` applied: a canonical name given there replaces its default group.
    public init(overriding overrides: [String: [String]]) {
        var groups = DomainMapping.defaultGroups
        for (k, v) in overrides {
            // An alias moved to another group leaves its old one.
            for (gk, gv) in groups { groups[gk] = gv.filter { !v.contains($0) } }
            groups[k] = v
        }
        self.init(groups: groups)
    }

    /// The domain of an address, lower-cased and mapped.
    public func domain(of address: String) -> String {
        var a = address
        return a.withUTF8 { domain(of: $0) }
    }

    /// The same, of an address's bytes (a recipient's buffer). Bytes, not characters: this runs for
    /// every delivery stored, and most domains are already lower-case ASCII.
    public func domain(of address: UnsafeBufferPointer<UInt8>) -> String {
        guard let at = address.lastIndex(of: UInt8(ascii: "@")) else { return "" }
        let bytes = UnsafeBufferPointer(rebasing: address[(at + 1)...])
        let plain = bytes.allSatisfy { $0 < 0x80 && !(0x41...0x5A).contains($0) }
        let text = String(decoding: bytes, as: UTF8.self)
        let d = plain ? text : text.lowercased()
        return aliases[d] ?? d
    }

    public func map(domain: String) -> String {
        let d = domain.lowercased()
        return aliases[d] ?? d
    }
}
