/// A small streaming JSON writer (no Foundation), with correct string escaping.
final class JSONWriter {
    private(set) var text = ""
    init() {}
    private var needComma: [Bool] = []

    func object(_ body: () -> Void) {
        separator()
        text += "{"
        needComma.append(false)
        body()
        needComma.removeLast()
        text += "}"
    }

    func arrayOf<T>(_ items: [T], _ each: (T) -> Void) {
        separator()
        text += "["
        needComma.append(false)
        for i in items { each(i) }
        needComma.removeLast()
        text += "]"
    }

    func array(_ items: [String]) {
        arrayOf(items) { s in
            self.separator()
            self.text += JSONWriter.quote(s)
        }
    }

    func dictionary(_ d: [String: Int]) {
        object {
            for (k, v) in d.sorted(by: { $0.key < $1.key }) { key(k, v) }
        }
    }

    func key(_ k: String, _ body: () -> Void) {
        separator()
        text += JSONWriter.quote(k) + ":"
        needComma.append(false)
        body()
        needComma.removeLast()
    }

    func key(_ k: String, _ v: Int) { raw(k, String(v)) }
    func key(_ k: String, _ v: Int64) { raw(k, String(v)) }
    func key(_ k: String, _ v: Bool) { raw(k, v ? "true" : "false") }
    func key(_ k: String, _ v: Double) { raw(k, v.isFinite ? String(v) : "null") }
    func key(_ k: String, _ v: String) { raw(k, JSONWriter.quote(v)) }
    func key(_ k: String, _ v: String?) { raw(k, v.map(JSONWriter.quote) ?? "null") }

    private func raw(_ k: String, _ v: String) {
        separator()
        text += JSONWriter.quote(k) + ":" + v
    }

    private func separator() {
        guard !needComma.isEmpty else { return }
        if needComma[needComma.count - 1] { text += "," }
        needComma[needComma.count - 1] = true
    }

    static func quote(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{2028}": out += "\\u2028"
            case "\u{2029}": out += "\\u2029"
            default:
                if u.value < 0x20 {
                    let h = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
