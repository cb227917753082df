import PostfixLog
import Testing

/// Runs the parser over every file of `../shared/real-logs` (skipped when the folder is absent).
@Suite(.enabled(if: RealLogs.directory != nil, "../shared/real-logs is not there"))
struct CoverageTests {
    static var logFiles: [String] {
        guard let dir = RealLogs.directory else { return [] }
        let top = listDirectory(dir).filter { !$0.hasSuffix(".md") && !$0.hasSuffix(".txt") && $0 != "lightmeter-individual" }
            .map { dir + "/" + $0 }
        let individual = listDirectory(dir + "/lightmeter-individual").map { dir + "/lightmeter-individual/" + $0 }
        return top + individual
    }

    @Test func everyFileHasAtLeast99_5PercentOfPostfixLinesKnown() {
        let parser = Parser()
        var total = ParseStats()
        #expect(Self.logFiles.count >= 40)
        for path in Self.logFiles {
            var stats = ParseStats()
            for line in readLines(path) where !line.hasPrefix("# source:") {
                var bytes = Array(line.utf8)
                bytes.withUnsafeMutableBufferPointer { b in
                    let buf = UnsafeBufferPointer(b)
                    stats.add(parser.parse(buf), line: buf)
                }
            }
            #expect(stats.postfixCoverage >= 0.995, "\(path): \(stats.postfixUnsupported) of \(stats.postfixLines) postfix lines unsupported: \(stats.unsupportedShapes.keys.sorted())")
            total.merge(stats)
        }
        #expect(total.postfixLines > 45_000)
    }

    @Test func everyDovecotAuthenticationFailureIsRecognised() {
        let markers = ["(auth failed", "Password mismatch", "password mismatch", "unknown user", "authentication failure;",
                       "pam_authenticate() failed", "invalid credentials", "plaintext auth", "proxy dest auth failed"]
        var seen = 0
        for path in Self.logFiles {
            for line in readLines(path) where !line.hasPrefix("#") && !line.contains("postfix") {
                guard markers.contains(where: { line.contains($0) }) else { continue }
                seen += 1
                let p = Parsed(line)
                #expect(p.kind == "dovecot.auth-failure", "\(p.kind): \(line)")
                if case .dovecot(.authFailure(let a)) = p.payload, !line.contains("rip=") || line.contains("rip=1") {
                    // Where the line names the client's address, the parser finds it.
                    if line.contains("rip=") || line.contains("rhost=") || line.contains(",1.2.3.4") {
                        #expect(a.remoteIP != nil, "no remote ip: \(line)")
                    }
                }
            }
        }
        #expect(seen >= 45)
    }

    /// The message bodies of the grok pattern collection, parsed as the daemon their group names.
    @Test func grokCatalogueOfMessageShapes() {
        guard let dir = RealLogs.directory else { return }
        let parser = Parser()
        var daemon: Daemon? = nil
        var known = 0, unknown: [String] = []
        for line in readLines(dir + "/whyscream_grok_test_messages.txt") {
            if line.hasPrefix("# grok pattern: POSTFIX_") {
                let name = line.dropFirst("# grok pattern: POSTFIX_".count).lowercased()
                switch name {
                case "trivial_rewrite": daemon = .trivialRewrite
                case "script": daemon = .postfixScript
                case "relay", "delays", "command_counter_data", "tls_features", "mc_milter": daemon = nil
                default: daemon = Daemon(rawValue: name.replacingOccurrences(of: "_", with: "-"))
                }
                continue
            }
            guard !line.hasPrefix("#"), let d = daemon else { continue }
            if line.hasPrefix("May  8") { continue }  // a whole line in the catalogue
            var bytes = Array(line.utf8)
            let payload = bytes.withUnsafeMutableBufferPointer { parser.parseBody(UnsafeBufferPointer($0), daemon: d) }
            if case .unsupported = payload { unknown.append("\(d): \(line)") } else { known += 1 }
        }
        #expect(known >= 150)
        // The rest are the body lines of a pipelining sample (`RCPT TO:<...>`, `DATA`, `QUIT`...) and a debug
        // line (`virtual_dns_lookup:`), which are not messages of their own.
        let accepted = ["smtp: virtual_dns_lookup: example.com (MX)", "smtpd: RCPT TO:<tom@example.net>", "smtpd: DATA",
                        "smtpd: Subject: pipeline test", "smtpd: This is a test", "smtpd: .", "smtpd: QUIT"]
        #expect(unknown.filter { !accepted.contains($0) } == [])
    }
}

extension String {
    func replacingOccurrences(of a: String, with b: String) -> String {
        split(separator: Character(a), omittingEmptySubsequences: false).joined(separator: b)
    }
}
