/// A gettext catalogue (`.po`): what Weblate and Poedit edit.
public struct POCatalog: Sendable {
    public struct Entry: Sendable, Equatable {
        public var context: String?
        public var id: String
        public var plural: String?
        /// One string, or one per plural form.
        public var strings: [String]
        public var fuzzy: Bool
    }

    public var entries: [Entry]
    public var headers: [String: String]

    /// Parses the text of a `.po` file. Fuzzy and empty translations are kept but not used.
    public init(parsing text: String) throws {
        var entries: [Entry] = []
        var context: String?, id: String?, plural: String?
        var strings: [Int: String] = [:]
        var fuzzy = false
        var target: ((String) -> Void)?
        var lineNumber = 0

        func flush() {
            if let i = id {
                let forms = strings.keys.sorted().map { strings[$0]! }
                entries.append(Entry(context: context, id: i, plural: plural, strings: forms, fuzzy: fuzzy))
            }
            context = nil; id = nil; plural = nil; strings = [:]; fuzzy = false; target = nil
        }

        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = raw.trimmingSpaces()
            if line.isEmpty { continue }
            if line.hasPrefix("#,") {
                if id != nil { flush() }
                if line.contains("fuzzy") { fuzzy = true }
                continue
            }
            if line.hasPrefix("#") { continue }
            if line.hasPrefix("\"") {
                guard let t = target else { throw POError(line: lineNumber, message: "a string continues nothing") }
                t(try Self.unquote(line, lineNumber))
                continue
            }
            guard let space = line.firstIndex(of: " ") else { throw POError(line: lineNumber, message: "unexpected '\(line)'") }
            let keyword = String(line[..<space])
            let value = try Self.unquote(line[line.index(after: space)...].trimmingSpaces(), lineNumber)
            switch keyword {
            case "msgctxt":
                if id != nil { flush() }
                context = value
                target = { context! += $0 }
            case "msgid":
                if id != nil { flush() }
                id = value
                target = { id! += $0 }
            case "msgid_plural":
                plural = value
                target = { plural! += $0 }
            case "msgstr":
                strings[0] = value
                target = { strings[0]! += $0 }
            default:
                guard keyword.hasPrefix("msgstr["), keyword.hasSuffix("]"),
                      let n = Int(keyword.dropFirst(7).dropLast()) else {
                    throw POError(line: lineNumber, message: "unknown keyword \(keyword)")
                }
                strings[n] = value
                target = { strings[n]! += $0 }
            }
        }
        flush()
        var headers: [String: String] = [:]
        if let h = entries.first(where: { $0.id.isEmpty && $0.context == nil }) {
            for line in (h.strings.first ?? "").split(separator: "\n") {
                if let colon = line.firstIndex(of: ":") {
                    headers[String(line[..<colon])] = line[line.index(after: colon)...].trimmingSpaces()
                }
            }
        }
        self.entries = entries.filter { !$0.id.isEmpty }
        self.headers = headers
    }

    static func unquote(_ s: some StringProtocol, _ line: Int) throws -> String {
        guard s.count >= 2, s.first == "\"", s.last == "\"" else { throw POError(line: line, message: "expected a quoted string") }
        var out = ""
        var escaping = false
        for c in s.dropFirst().dropLast() {
            if escaping {
                switch c {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                default: out.append("\\"); out.append(c)
                }
                escaping = false
            } else if c == "\\" {
                escaping = true
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// Writes a string as a `.po` quoted string.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for c in s {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            default: out.append(c)
            }
        }
        return out + "\""
    }
}

public struct POError: Error, CustomStringConvertible {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
