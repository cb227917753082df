/// The `plural=` expression of a catalogue's Plural-Forms header, a small C expression of `n`:
/// `n != 1`, `n > 1`, `(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2)`.
public struct PluralRule: Sendable {
    indirect enum Node: Sendable {
        case n
        case number(Int)
        case not(Node)
        case binary(String, Node, Node)
        case ternary(Node, Node, Node)
    }

    let root: Node
    public let count: Int

    public static let english = try! PluralRule(header: "nplurals=2; plural=(n != 1);")

    /// Parses `nplurals=N; plural=EXPR;`.
    public init(header: String) throws {
        var count = 2
        var expression = "(n != 1)"
        for part in header.split(separator: ";") {
            let kv = part.split(separator: "=", maxSplits: 1)
            guard kv.count == 2 else { continue }
            switch kv[0].trimmingSpaces() {
            case "nplurals": count = Int(kv[1].trimmingSpaces()) ?? 2
            case "plural": expression = kv[1].trimmingSpaces()
            default: break
            }
        }
        var p = Parser(Array(expression.utf8))
        root = try p.parseTernary()
        p.skip()
        guard p.at == p.b.count else { throw POError(line: 0, message: "plural expression: trailing text") }
        self.count = count
    }

    /// The index of the form for `n`.
    public func form(_ n: Int) -> Int {
        let v = Self.eval(root, n)
        return v >= 0 && v < count ? v : 0
    }

    static func eval(_ node: Node, _ n: Int) -> Int {
        switch node {
        case .n: return n
        case .number(let v): return v
        case .not(let a): return eval(a, n) == 0 ? 1 : 0
        case .ternary(let c, let a, let b): return eval(c, n) != 0 ? eval(a, n) : eval(b, n)
        case .binary(let op, let a, let b):
            let x = eval(a, n)
            if op == "&&" { return x != 0 && eval(b, n) != 0 ? 1 : 0 }
            if op == "||" { return x != 0 || eval(b, n) != 0 ? 1 : 0 }
            let y = eval(b, n)
            switch op {
            case "==": return x == y ? 1 : 0
            case "!=": return x != y ? 1 : 0
            case "<": return x < y ? 1 : 0
            case ">": return x > y ? 1 : 0
            case "<=": return x <= y ? 1 : 0
            case ">=": return x >= y ? 1 : 0
            case "+": return x + y
            case "-": return x - y
            case "*": return x * y
            case "/": return y == 0 ? 0 : x / y
            case "%": return y == 0 ? 0 : x % y
            default: return 0
            }
        }
    }

    struct Parser {
        let b: [UInt8]
        var at = 0
        init(_ b: [UInt8]) { self.b = b }

        mutating func skip() { while at < b.count && (b[at] == 32 || b[at] == 9) { at += 1 } }

        mutating func eat(_ s: String) -> Bool {
            skip()
            let u = Array(s.utf8)
            guard at + u.count <= b.count, Array(b[at..<(at + u.count)]) == u else { return false }
            // "<" must not eat the start of "<=", "!" not "!=".
            if (s == "<" || s == ">" || s == "!") && at + 1 < b.count && b[at + 1] == UInt8(ascii: "=") { return false }
            at += u.count
            return true
        }

        mutating func parseTernary() throws -> Node {
            let c = try parseBinary(0)
            if eat("?") {
                let a = try parseTernary()
                guard eat(":") else { throw POError(line: 0, message: "plural expression: expected ':'") }
                let e = try parseTernary()
                return .ternary(c, a, e)
            }
            return c
        }

        static let levels: [[String]] = [["||"], ["&&"], ["==", "!="], ["<=", ">=", "<", ">"], ["+", "-"], ["*", "/", "%"]]

        mutating func parseBinary(_ level: Int) throws -> Node {
            if level == Self.levels.count { return try parseUnary() }
            var left = try parseBinary(level + 1)
            loop: while true {
                for op in Self.levels[level] where eat(op) {
                    left = .binary(op, left, try parseBinary(level + 1))
                    continue loop
                }
                return left
            }
        }

        mutating func parseUnary() throws -> Node {
            if eat("!") { return .not(try parseUnary()) }
            if eat("(") {
                let e = try parseTernary()
                guard eat(")") else { throw POError(line: 0, message: "plural expression: expected ')'") }
                return e
            }
            skip()
            if at < b.count && b[at] == UInt8(ascii: "n") { at += 1; return .n }
            var v = 0
            let start = at
            while at < b.count && b[at] >= 48 && b[at] <= 57 { v = v * 10 + Int(b[at] - 48); at += 1 }
            guard at > start else { throw POError(line: 0, message: "plural expression: unexpected character") }
            return .number(v)
        }
    }
}
