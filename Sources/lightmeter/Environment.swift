#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads `LIGHTMETER_*` variables. A flag given on the command line wins over its variable.
struct Environment {
    var values: [String: String]

    static var current: Environment {
        var v: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { v[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return Environment(values: v)
    }

    func string(_ name: String) -> String? {
        guard let v = values[name], !v.isEmpty else { return nil }
        return v
    }

    func bool(_ name: String) -> Bool? {
        guard let v = string(name)?.lowercased() else { return nil }
        switch v {
        case "1", "true", "yes", "on", "t", "y": return true
        case "0", "false", "no", "off", "f", "n": return false
        default: return nil
        }
    }

    func int(_ name: String) -> Int? {
        string(name).flatMap { Int($0) }
    }
}

/// Writes to standard error.
func printError(_ s: String) {
    var line = s
    if !line.hasSuffix("\n") { line += "\n" }
    var bytes = Array(line.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}
