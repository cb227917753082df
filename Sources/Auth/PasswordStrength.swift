import Foundation
import L10n

/// How hard a password is to guess, estimated the way zxcvbn does it: the password is covered by the
/// cheapest sequence of patterns an attacker would try (ranked dictionary words, the user's own name
/// and address, l33t and reversed words, repeats, sequences, keyboard rows, dates, and brute force for
/// what is left), and the guesses of that sequence give the score.
public struct PasswordStrength: Sendable, Equatable {
    /// log10 of the estimated number of guesses.
    public var log10Guesses: Double
    /// 0 (guessed at once) to 4 (very hard): zxcvbn's scale.
    public var score: Int
    /// Why it is weak, in English (a message id of the translation catalogues), if it is.
    public var warning: String?

    /// The lowest score accepted for an account: about 10^8 guesses or more.
    public static let minimumScore = 3
    public var isAcceptable: Bool { score >= Self.minimumScore }
}

public final class PasswordEstimator: Sendable {
    /// Kind of a dictionary entry: decides the warning when it is what makes the password weak.
    enum List: Sendable { case password, word, name, userInput }

    private let ranked: [String: (rank: Int, list: List)]
    static let maxLength = 64

    public static let shared: PasswordEstimator = {
        guard let url = Bundle.module.url(forResource: "wordlists", withExtension: "txt"),
              let text = try? String(contentsOf: url, encoding: .utf8) else {
            fatalError("Auth resource wordlists.txt is missing from the build")
        }
        return PasswordEstimator(lists: text)
    }()

    /// `lists`: sections `[name]` of words, most frequent first.
    init(lists: String) {
        var ranked: [String: (rank: Int, list: List)] = [:]
        var list = List.word
        var rank = 0
        for line in lists.split(separator: "\n") {
            if line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                list = line == "[passwords]" ? .password : (line.contains("names") ? .name : .word)
                rank = 0
                continue
            }
            rank += 1
            let w = String(line)
            if let old = ranked[w], old.rank <= rank { continue }
            ranked[w] = (rank, list)
        }
        self.ranked = ranked
    }

    struct Match {
        var i: Int
        var j: Int
        var guesses: Double
        var warning: String?
    }

    /// Estimates `password`; `userInputs` are the account's name and e-mail address, whose parts
    /// count as the first words an attacker tries.
    public func estimate(_ password: String, userInputs: [String] = []) -> PasswordStrength {
        let chars = Array(password.prefix(Self.maxLength))
        guard !chars.isEmpty else { return PasswordStrength(log10Guesses: 0, score: 0, warning: N_("Enter a password.")) }
        var inputs: [String: Int] = [:]
        for input in userInputs {
            let lower = input.lowercased()
            var parts = lower.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
            parts.append(lower)
            if let at = lower.firstIndex(of: "@") { parts.append(String(lower[..<at])) }
            for p in parts where p.count >= 3 { inputs[p] = 1 }
        }
        let (guesses, sequence) = mostGuessable(chars, inputs: inputs)
        let log = log10(max(guesses, 1))
        let score: Int
        switch guesses {
        case ..<(1e3 + 5): score = 0
        case ..<(1e6 + 5): score = 1
        case ..<(1e8 + 5): score = 2
        case ..<(1e10 + 5): score = 3
        default: score = 4
        }
        var warning: String?
        if score < PasswordStrength.minimumScore {
            warning = sequence.filter { $0.warning != nil }.max(by: { $0.j - $0.i < $1.j - $1.i })?.warning
                ?? N_("Add another word or two. Uncommon words are better.")
        }
        return PasswordStrength(log10Guesses: (log * 10).rounded() / 10, score: score, warning: warning)
    }

    // MARK: the cheapest cover of the password

    func mostGuessable(_ chars: [Character], inputs: [String: Int]) -> (Double, [Match]) {
        let n = chars.count
        var byEnd = [[Match]](repeating: [], count: n)
        for m in matches(chars, inputs: inputs) { byEnd[m.j].append(m) }
        for j in 0..<n {
            for i in 0...j {
                byEnd[j].append(Match(i: i, j: j, guesses: bruteforce(j - i + 1), warning: nil))
            }
        }
        // best[k][l]: the cheapest cover of chars[0...k] by l patterns (product of guesses, and the patterns).
        var best = [[Int: (pi: Double, seq: [Match])]](repeating: [:], count: n)
        func total(_ pi: Double, _ l: Int) -> Double { factorial(l) * pi + pow(10_000, Double(l - 1)) }
        for k in 0..<n {
            for m in byEnd[k] {
                if m.i == 0 {
                    consider(&best[k], 1, m.guesses, [m])
                } else {
                    for (l, prev) in best[m.i - 1] {
                        consider(&best[k], l + 1, prev.pi * m.guesses, prev.seq + [m])
                    }
                }
            }
        }
        func consider(_ slot: inout [Int: (pi: Double, seq: [Match])], _ l: Int, _ pi: Double, _ seq: [Match]) {
            if let old = slot[l], total(old.pi, l) <= total(pi, l) { return }
            // A longer sequence that costs more than a shorter one at this point never wins later.
            for (ol, o) in slot where ol < l && total(o.pi, ol) <= total(pi, l) { return }
            slot[l] = (pi, seq)
        }
        var bestTotal = Double.infinity
        var bestSeq: [Match] = []
        for (l, e) in best[n - 1] {
            let t = total(e.pi, l)
            if t < bestTotal { bestTotal = t; bestSeq = e.seq }
        }
        return (bestTotal, bestSeq)
    }

    func bruteforce(_ length: Int) -> Double {
        let g = pow(10, Double(length))
        return length == 1 ? g + 1 : g
    }

    func factorial(_ n: Int) -> Double { n < 2 ? 1 : (2...n).reduce(1.0) { $0 * Double($1) } }

    // MARK: patterns

    func matches(_ chars: [Character], inputs: [String: Int]) -> [Match] {
        var out: [Match] = []
        out += dictionaryMatches(chars, inputs: inputs)
        out += repeatMatches(chars, inputs: inputs)
        out += sequenceMatches(chars)
        out += keyboardMatches(chars)
        out += dateMatches(chars)
        return out
    }

    static let l33t: [[Character: Character]] = [
        ["4": "a", "@": "a", "8": "b", "(": "c", "{": "c", "3": "e", "6": "g", "1": "i", "!": "i", "|": "i",
         "0": "o", "$": "s", "5": "s", "7": "t", "+": "t", "2": "z", "%": "x"],
        ["1": "l", "|": "l", "7": "l", "9": "g", "4": "a", "@": "a", "0": "o", "3": "e", "$": "s", "5": "s"],
    ]

    func lookup(_ word: String, inputs: [String: Int]) -> (rank: Int, list: List)? {
        if let r = inputs[word] { return (r, .userInput) }
        return ranked[word]
    }

    func dictionaryMatches(_ chars: [Character], inputs: [String: Int]) -> [Match] {
        let n = chars.count
        let lower = chars.map { Character($0.lowercased()) }
        var out: [Match] = []
        for i in 0..<n {
            for j in i..<min(n, i + 30) {
                let original = chars[i...j]
                let word = String(lower[i...j])
                let caseFactor = uppercaseVariations(original)
                let minimum: Double = j == i ? 10 : 50
                if let e = lookup(word, inputs: inputs) {
                    out.append(Match(i: i, j: j, guesses: max(Double(e.rank) * caseFactor, minimum), warning: warning(e.list, rank: e.rank)))
                }
                if j > i, let e = lookup(String(word.reversed()), inputs: inputs) {
                    out.append(Match(i: i, j: j, guesses: max(Double(e.rank) * caseFactor * 2, minimum), warning: warning(e.list, rank: e.rank)))
                }
                for table in Self.l33t {
                    var subs = 0
                    let plain = String(lower[i...j].map { c -> Character in
                        if let p = table[c] { subs += 1; return p }
                        return c
                    })
                    guard subs > 0, subs < j - i + 1, let e = lookup(plain, inputs: inputs) else { continue }
                    let factor = pow(2, Double(min(subs, 8)))
                    out.append(Match(i: i, j: j, guesses: max(Double(e.rank) * caseFactor * factor, minimum),
                                     warning: e.list == .password ? N_("This is similar to a commonly used password.") : warning(e.list, rank: e.rank)))
                }
            }
        }
        return out
    }

    func warning(_ list: List, rank: Int) -> String? {
        switch list {
        case .password: return rank <= 100 ? N_("This is a top-100 common password.") : N_("This is a very common password.")
        case .name: return N_("Names and surnames are easy to guess.")
        case .userInput: return N_("Do not use your name or e-mail address in the password.")
        case .word: return N_("A word by itself is easy to guess.")
        }
    }

    func uppercaseVariations(_ s: ArraySlice<Character>) -> Double {
        let upper = s.filter(\.isUppercase).count
        let lower = s.filter(\.isLowercase).count
        if upper == 0 { return 1 }
        if lower == 0 { return 2 }
        if upper == 1 && (s.first!.isUppercase || s.last!.isUppercase) { return 2 }
        var v = 0.0
        for k in 1...min(upper, lower) { v += binomial(upper + lower, k) }
        return v
    }

    func binomial(_ n: Int, _ k: Int) -> Double {
        var r = 1.0
        for i in 0..<k { r = r * Double(n - i) / Double(i + 1) }
        return r
    }

    /// A unit repeated: "aaaa", "abcabcabc".
    func repeatMatches(_ chars: [Character], inputs: [String: Int]) -> [Match] {
        let n = chars.count
        var out: [Match] = []
        for i in 0..<n {
            for unit in 1...max(1, (n - i) / 2) where i + 2 * unit <= n {
                var count = 1
                while i + (count + 1) * unit <= n && chars[(i + count * unit)..<(i + (count + 1) * unit)] == chars[i..<(i + unit)] {
                    count += 1
                }
                guard count >= 2, unit * count >= 3 else { continue }
                let base = unit == 1 ? 11 : mostGuessable(Array(chars[i..<(i + unit)]), inputs: inputs).0
                out.append(Match(i: i, j: i + unit * count - 1, guesses: base * Double(count), warning: N_("Repeats like \"aaa\" or \"abcabc\" are easy to guess.")))
            }
        }
        return out
    }

    /// Runs with a constant step: "abcd", "13579", "9876".
    func sequenceMatches(_ chars: [Character]) -> [Match] {
        let codes = chars.map { Int($0.unicodeScalars.first!.value) }
        let n = codes.count
        var out: [Match] = []
        var i = 0
        while i < n - 2 {
            let step = codes[i + 1] - codes[i]
            guard step != 0, abs(step) <= 2 else { i += 1; continue }
            var j = i + 1
            while j + 1 < n && codes[j + 1] - codes[j] == step { j += 1 }
            if j - i + 1 >= 3 {
                let first = chars[i]
                var base: Double = "aAzZ019".contains(first) ? 4 : (first.isNumber ? 10 : 26)
                if step < 0 { base *= 2 }
                out.append(Match(i: i, j: j, guesses: base * Double(j - i + 1), warning: N_("Sequences like \"abc\" or \"6543\" are easy to guess.")))
                i = j
            } else {
                i += 1
            }
        }
        return out
    }

    /// Keys next to each other on a QWERTY keyboard: "qwerty", "zxcvbn", "1qaz2wsx".
    static let keyboard: [Character: (x: Double, y: Double)] = {
        let rows: [(String, String, Double)] = [
            ("`1234567890-=", "~!@#$%^&*()_+", 0),
            ("qwertyuiop[]\\", "QWERTYUIOP{}|", 0.5),
            ("asdfghjkl;'", "ASDFGHJKL:\"", 0.75),
            ("zxcvbnm,./", "ZXCVBNM<>?", 1.25),
        ]
        var pos: [Character: (Double, Double)] = [:]
        for (y, row) in rows.enumerated() {
            for (x, c) in row.0.enumerated() { pos[c] = (Double(x) + row.2, Double(y)) }
            for (x, c) in row.1.enumerated() { pos[c] = (Double(x) + row.2, Double(y)) }
        }
        return pos
    }()

    func keyboardMatches(_ chars: [Character]) -> [Match] {
        let n = chars.count
        var out: [Match] = []
        var i = 0
        while i < n - 2 {
            var j = i
            var turns = 1
            var direction: (Double, Double)? = nil
            while j + 1 < n, let a = Self.keyboard[chars[j]], let b = Self.keyboard[chars[j + 1]] {
                let dx = b.x - a.x, dy = b.y - a.y
                let adjacent = (dy == 0 && abs(dx) == 1) || (abs(dy) == 1 && abs(dx) <= 0.75)
                guard adjacent else { break }
                if let d = direction, d != (dx, dy) { turns += 1 }
                direction = (dx, dy)
                j += 1
            }
            if j - i + 1 >= 4 {
                let length = Double(j - i + 1)
                out.append(Match(i: i, j: j, guesses: 94 * length * pow(4.6, Double(turns)), warning: N_("Straight rows of keys like \"qwerty\" are easy to guess.")))
                i = j
            } else {
                i += 1
            }
        }
        return out
    }

    /// Years and dates of digits: "1987", "0402", "311299", "19871231".
    func dateMatches(_ chars: [Character]) -> [Match] {
        let n = chars.count
        var out: [Match] = []
        let thisYear = 2026
        for i in 0..<n {
            for len in [4, 6, 8] where i + len <= n {
                let s = chars[i..<(i + len)]
                guard s.allSatisfy(\.isASCII), s.allSatisfy(\.isNumber), let v = Int(String(s)) else { continue }
                if len == 4, (1900...2049).contains(v) {
                    out.append(Match(i: i, j: i + 3, guesses: Double(max(abs(v - thisYear), 20)), warning: N_("Recent years and dates are easy to guess.")))
                } else if len >= 6 {
                    let years = len == 8 ? [v / 10_000, v % 10_000] : [1900 + v / 10_000, 1900 + v % 100]
                    if years.contains(where: { (1900...2049).contains($0) }) {
                        out.append(Match(i: i, j: i + len - 1, guesses: 365 * 20, warning: N_("Recent years and dates are easy to guess.")))
                    }
                }
            }
        }
        return out
    }
}
