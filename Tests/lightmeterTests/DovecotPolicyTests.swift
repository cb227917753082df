import Foundation
import Store
import Testing

/// A real Dovecot (Debian's dovecot-core), configured with what `-dovecot_conf_gen` prints, asks the
/// policy endpoint of a running lightmeter: repeated wrong passwords from one remote address get it
/// refused, even with the right password, while an allowlisted address still logs in.
@Suite(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/dovecot"), "needs root and dovecot-core"))
struct DovecotPolicyTests {
    func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    func connectable(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
    }

    @discardableResult
    func run(_ args: [String]) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: args[0])
        p.arguments = Array(args.dropFirst())
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, text)
    }

    @Test(.timeLimit(.minutes(3)))
    func wrongPasswordsGetAnAddressRefusedAndTheAllowlistStillLogsIn() throws {
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ws = dir + "/ws"
        // The thresholds and the allowlist, as the Settings page stores them.
        let db = try AppDatabase.open(workspace: ws)
        try db.saveSettings(["bruteforce.max_failures": "5", "bruteforce.allowlist": "192.0.2.0/24"])

        let policyPort = freePort()
        let gen = try CLI.run(["-workspace", ws, "-dovecot_conf_gen", "-policy_listen", "127.0.0.1:\(policyPort)"])
        try #require(gen.status == 0, "\(gen.err)")
        #expect(gen.out.contains("auth_policy_server_url = http://127.0.0.1:\(policyPort)/"))
        #expect(gen.out.contains("auth_policy_server_api_header = X-API-Key: "))

        let d = dir + "/dovecot"
        for sub in ["run", "state", "home"] { try FileManager.default.createDirectory(atPath: d + "/" + sub, withIntermediateDirectories: true) }
        try "alice@lab.example:{PLAIN}secret\n".write(toFile: d + "/users", atomically: true, encoding: .utf8)
        try gen.out.write(toFile: d + "/policy.conf", atomically: true, encoding: .utf8)
        try """
        base_dir = \(d)/run
        state_dir = \(d)/state
        log_path = \(d)/dovecot.log
        protocols =
        listen = 127.0.0.1
        ssl = no
        disable_plaintext_auth = no
        auth_mechanisms = plain login
        auth_verbose = yes
        auth_failure_delay = 0
        passdb {
          driver = passwd-file
          args = scheme=PLAIN username_format=%u \(d)/users
        }
        userdb {
          driver = static
          args = uid=65534 gid=65534 home=\(d)/home/%u
        }
        service anvil {
          chroot =
        }
        !include \(d)/policy.conf

        """.write(toFile: d + "/dovecot.conf", atomically: true, encoding: .utf8)
        // Dovecot's daemons keep every descriptor they inherit, Foundation's watch on its child too (then
        // waitUntilExit never returns): started through Python, which closes them.
        let dovecot = Process()
        dovecot.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        dovecot.arguments = ["python3", "-c", "import subprocess, sys; sys.exit(subprocess.run(['/usr/sbin/dovecot', '-c', sys.argv[1]], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode)",
                             d + "/dovecot.conf"]
        try dovecot.run()
        dovecot.waitUntilExit()
        try #require(dovecot.terminationStatus == 0, "dovecot did not start: \((try? String(contentsOfFile: d + "/dovecot.log", encoding: .utf8)) ?? "")")
        defer {
            if let pid = (try? String(contentsOfFile: d + "/run/master.pid", encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                kill(pid, SIGKILL)
            }
        }

        let server = try RunningServer.start(["-workspace", ws, "-stdin", "-policy_listen", "127.0.0.1:\(policyPort)"])
        defer { server.stop() }
        for _ in 0..<100 where !connectable(policyPort) { Thread.sleep(forTimeInterval: 0.1) }
        try #require(connectable(policyPort))

        /// `doveadm auth test` as a login from `rip` (Dovecot's own growing penalty off: it would only slow the test).
        func login(_ rip: String, _ password: String) throws -> Int32 {
            try run(["/usr/bin/doveadm", "-c", d + "/dovecot.conf", "auth", "test", "-x", "rip=\(rip)", "-x", "no-penalty=1",
                     "alice@lab.example", password]).status
        }

        #expect(try login("203.0.113.7", "secret") == 0)
        for i in 1...5 { #expect(try login("203.0.113.7", "wrong\(i)") != 0) }
        // Now refused, the right password too; the reason is in Dovecot's log.
        #expect(try login("203.0.113.7", "secret") != 0)
        let log = (try? String(contentsOfFile: d + "/dovecot.log", encoding: .utf8)) ?? ""
        #expect(log.contains("policy server refusal"), "\(log)")
        #expect(try db.activeBlocks(now: Int64(Date().timeIntervalSince1970)).map(\.cidr) == ["203.0.113.7"])
        // Another address is not affected.
        #expect(try login("198.51.100.20", "secret") == 0)
        // The allowlisted network: as many wrong passwords, and the right one still passes.
        for i in 1...7 { #expect(try login("192.0.2.10", "wrong\(i)") != 0) }
        #expect(try login("192.0.2.10", "secret") == 0)
        // The reports were recorded: failures per address, and the successes. Dovecot posts its
        // report after `doveadm auth test` has its answer: on a loaded machine it may come a little later.
        var stats = try db.loginStats(from: 0, to: Int64(Date().timeIntervalSince1970) + 1, now: Int64(Date().timeIntervalSince1970))
        for _ in 0..<50 where stats.successesAfterFailures < 1 {
            Thread.sleep(forTimeInterval: 0.1)
            stats = try db.loginStats(from: 0, to: Int64(Date().timeIntervalSince1970) + 1, now: Int64(Date().timeIntervalSince1970))
        }
        #expect(stats.failingIPs == 2)
        #expect(stats.blockedIPs == 1)
        #expect(stats.successesAfterFailures >= 1)

        // Without the API key, the endpoint answers 401.
        let r = try run(["/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST", "-d", #"{"remote":"203.0.113.7"}"#,
                         "http://127.0.0.1:\(policyPort)/?command=allow"])
        #expect(r.out == "401")
    }
}
