import Foundation
import L10n
import NIOCore
import NIOPosix
import NIOSSL

/// A small SMTP client (RFC 5321) on SwiftNIO: STARTTLS (RFC 3207) or TLS from the start, AUTH PLAIN or
/// LOGIN (RFC 4954), one message to several recipients. The mirror has no maintained SMTP library.
public struct SMTPClient: Sendable {
    public let config: NotifyConfig.Email
    public var heloName: String
    public var timeout: TimeAmount = .seconds(30)

    public init(config: NotifyConfig.Email, heloName: String? = nil) {
        self.config = config
        self.heloName = heloName ?? SMTPClient.localHostName()
    }

    static func localHostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count) == 0 else { return "localhost" }
        let name = String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }

    public struct Reply: Sendable, CustomStringConvertible {
        public var code: Int
        public var lines: [String]
        public var description: String { "\(code) " + lines.joined(separator: " / ") }
    }

    /// Sends `message` (headers and body, CRLF line ends) to every recipient of the settings.
    public func send(message: String) async throws {
        let tls: NIOSSLContext?
        if config.security != .none {
            var t = TLSConfiguration.makeClientConfiguration()
            if !config.verifyCertificate { t.certificateVerification = .none }
            tls = try NIOSSLContext(configuration: t)
        } else {
            tls = nil
        }
        let host = config.host
        let sni = Self.isIPAddress(host) ? nil : host
        let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(15))
                .connect(host: host, port: config.port) { ch in
                    ch.eventLoop.makeCompletedFuture {
                        if self.config.security == .tls, let tls {
                            try ch.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls, serverHostname: sni))
                        }
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: ch)
                    }
                }
        } catch {
            throw DeliveryError(.temporary, N_("e-mail: cannot connect to {{address}}: {{error}}"), ["address": "\(host):\(config.port)", "error": "\(error)"])
        }
        let deadline = NIODeadline.now() + timeout
        let raw = channel.channel
        // A connection that hangs is closed at the deadline; the reads below then end.
        let timer = raw.eventLoop.scheduleTask(deadline: deadline) { raw.close(promise: nil) }
        defer { timer.cancel() }
        do {
            try await channel.executeThenClose { inbound, outbound in
                var replies = ReplyReader(iterator: inbound.makeAsyncIterator())
                // `what`: the step, as the protocol names it; a refused login says so.
                func expect(_ ok: ClosedRange<Int>, _ what: String, login: Bool = false) async throws -> Reply {
                    guard let r = try await replies.next() else {
                        throw DeliveryError(.temporary, N_("e-mail: {{host}} closed the connection during {{step}}"), ["host": host, "step": what])
                    }
                    guard ok.contains(r.code) else {
                        let kind: DeliveryError.Kind = r.code >= 500 ? .configuration : .temporary
                        if login { throw DeliveryError(kind, N_("e-mail: {{host}} refused the login ({{step}}): {{reply}}"), ["host": host, "step": what, "reply": "\(r)"]) }
                        throw DeliveryError(kind, N_("e-mail: {{host}} refused {{step}}: {{reply}}"), ["host": host, "step": what, "reply": "\(r)"])
                    }
                    return r
                }
                func command(_ line: String, _ ok: ClosedRange<Int>, _ what: String, login: Bool = false) async throws -> Reply {
                    do {
                        try await outbound.write(ByteBuffer(string: line + "\r\n"))
                    } catch {
                        // The channel closed under the write (a failed TLS handshake): the reason is on the read side.
                        _ = try await replies.next()
                        throw error
                    }
                    return try await expect(ok, what, login: login)
                }
                _ = try await expect(220...220, "220")
                var ehlo = try await command("EHLO " + heloName, 250...250, "EHLO")
                if config.security == .starttls {
                    guard ehlo.lines.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) else {
                        throw DeliveryError(.configuration, N_("e-mail: {{host}} does not offer STARTTLS (choose another security setting)"), ["host": host])
                    }
                    _ = try await command("STARTTLS", 220...220, "STARTTLS")
                    try await raw.eventLoop.submit {
                        try raw.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: tls!, serverHostname: sni), position: .first)
                    }.get()
                    ehlo = try await command("EHLO " + heloName, 250...250, "EHLO (STARTTLS)")
                }
                if let user = config.username, !user.isEmpty {
                    let password = config.password ?? ""
                    let auth = ehlo.lines.first { $0.uppercased().hasPrefix("AUTH") }?.uppercased().split(separator: " ").map(String.init) ?? []
                    if auth.contains("PLAIN") || !auth.contains("LOGIN") {
                        let token = Data(("\0" + user + "\0" + password).utf8).base64EncodedString()
                        _ = try await command("AUTH PLAIN " + token, 235...235, "AUTH PLAIN", login: true)
                    } else {
                        _ = try await command("AUTH LOGIN", 334...334, "AUTH LOGIN", login: true)
                        _ = try await command(Data(user.utf8).base64EncodedString(), 334...334, "AUTH LOGIN", login: true)
                        _ = try await command(Data(password.utf8).base64EncodedString(), 235...235, "AUTH LOGIN", login: true)
                    }
                }
                _ = try await command("MAIL FROM:<\(config.from)>", 250...250, "MAIL FROM:<\(config.from)>")
                var refused: [String] = []
                for rcpt in config.to {
                    try await outbound.write(ByteBuffer(string: "RCPT TO:<\(rcpt)>\r\n"))
                    guard let r = try await replies.next() else { throw DeliveryError(.temporary, N_("e-mail: {{host}} closed the connection"), ["host": host]) }
                    if !(250...251).contains(r.code) { refused.append("<\(rcpt)>: \(r)") }
                }
                if refused.count == config.to.count {
                    throw DeliveryError(.configuration, N_("e-mail: {{host}} refused every recipient: {{replies}}"), ["host": host, "replies": refused.joined(separator: "; ")])
                }
                _ = try await command("DATA", 354...354, "DATA")
                try await outbound.write(ByteBuffer(string: Self.dotStuffed(message) + ".\r\n"))
                _ = try await expect(250...250, "DATA (.)")
                try? await outbound.write(ByteBuffer(string: "QUIT\r\n"))
                _ = try? await replies.next()
            }
        } catch let e as DeliveryError {
            throw e
        } catch let e as NIOSSLError {
            throw DeliveryError(.configuration, config.verifyCertificate
                ? N_("e-mail: TLS with {{host}} failed: {{error}} (is its certificate signed by a known authority and made out to {{host}}?)")
                : N_("e-mail: TLS with {{host}} failed: {{error}}"), ["host": host, "error": "\(e)"])
        } catch {
            let timedOut = NIODeadline.now() >= deadline
            throw DeliveryError(.temporary, timedOut ? N_("e-mail: {{host}} did not answer in time") : N_("e-mail: {{host}}: {{error}}"),
                                ["host": host, "error": "\(error)"])
        }
    }

    /// Lines starting with a dot get another (RFC 5321 4.5.2); the text ends with CRLF.
    static func dotStuffed(_ message: String) -> String {
        var lines = message.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n") + "\r\n"
    }

    static func isIPAddress(_ s: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, s, &v4) == 1 || inet_pton(AF_INET6, s, &v6) == 1
    }
}

/// Reads SMTP replies (one or more lines `250-...`, ending with `250 ...`) from a byte stream.
struct ReplyReader {
    var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    var pending: [UInt8] = []

    mutating func line() async throws -> String? {
        while true {
            if let i = pending.firstIndex(of: UInt8(ascii: "\n")) {
                var l = Array(pending[..<i])
                pending.removeFirst(i + 1)
                if l.last == UInt8(ascii: "\r") { l.removeLast() }
                return String(decoding: l, as: UTF8.self)
            }
            guard pending.count < 65536, let buffer = try await iterator.next() else { return nil }
            pending += buffer.readableBytesView
        }
    }

    mutating func next() async throws -> SMTPClient.Reply? {
        var lines: [String] = []
        while let l = try await line() {
            let chars = Array(l.utf8)
            guard chars.count >= 3, let code = Int(String(l.prefix(3))) else {
                throw DeliveryError(.temporary, N_("e-mail: not an SMTP reply: {{line}}"), ["line": String(l.prefix(80))])
            }
            lines.append(chars.count > 4 ? String(l.dropFirst(4)) : "")
            if chars.count == 3 || chars[3] == UInt8(ascii: " ") { return SMTPClient.Reply(code: code, lines: lines) }
        }
        return nil
    }
}

/// A notification as an e-mail: multipart/alternative with a plain-text and an HTML part.
public enum EmailMessage {
    public static func render(_ c: NotificationContent, from: String, to: [String], date: Date = Date(), boundary: String = "lm-" + UUID().uuidString) -> String {
        let domain = from.split(separator: "@").last.map(String.init) ?? "localhost"
        var h: [String] = []
        h.append("Date: " + rfc5322Date(date))
        h.append("From: " + encodeHeader("Control Center") + " <\(from)>")
        h.append("To: " + to.map { "<\($0)>" }.joined(separator: ", "))
        h.append("Subject: " + encodeHeader(c.subject))
        h.append("Message-ID: <\(c.deliveryID)@\(domain)>")
        h.append("MIME-Version: 1.0")
        h.append("Auto-Submitted: auto-generated")
        h.append("X-Lightmeter-Delivery: \(c.deliveryID)")
        h.append("Content-Type: multipart/alternative; boundary=\"\(boundary)\"")
        var body: [String] = []
        body.append("--\(boundary)")
        body.append("Content-Type: text/plain; charset=utf-8")
        body.append("Content-Transfer-Encoding: base64")
        body.append("")
        body.append(base64Lines(c.plainText))
        body.append("--\(boundary)")
        body.append("Content-Type: text/html; charset=utf-8")
        body.append("Content-Transfer-Encoding: base64")
        body.append("")
        body.append(base64Lines(html(c)))
        body.append("--\(boundary)--")
        return (h + [""] + body).joined(separator: "\r\n") + "\r\n"
    }

    static func html(_ c: NotificationContent) -> String {
        func e(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        var out = "<!DOCTYPE html><html lang=\"\(e(c.language.replacingOccurrences(of: "_", with: "-")))\"><head><meta charset=\"utf-8\"><title>\(e(c.subject))</title></head>"
        out += "<body style=\"font-family:sans-serif;color:#1d2733\"><h1 style=\"font-size:1.2em\">\(e(c.subject))</h1>"
        if let intro = c.intro { out += "<p>\(e(intro))</p>" }
        for item in c.items {
            let color = item.rating == "bad" ? "#b42318" : item.rating == "ok" ? "#067647" : "#475467"
            out += "<div style=\"border-left:4px solid \(color);padding:0 0 0 .8em;margin:1em 0\">"
            if c.items.count > 1 { out += "<h2 style=\"font-size:1em;margin:0\">\(e(item.title))</h2>" }
            out += "<p style=\"margin:.2em 0;color:\(color)\">\(e(item.ratingLabel)) · \(e(item.timeText))</p>"
            if !item.details.isEmpty {
                out += "<table style=\"border-collapse:collapse\">"
                for d in item.details { out += "<tr><th style=\"text-align:left;padding-right:1em;font-weight:normal;color:#475467\">\(e(d.label))</th><td>\(e(d.value))</td></tr>" }
                out += "</table>"
            }
            if let link = item.link { out += "<p><a href=\"\(e(link))\">\(e(c.openText))</a></p>" }
            out += "</div>"
        }
        if let link = c.insightsLink { out += "<p><a href=\"\(e(link))\">\(e(link))</a></p>" }
        out += "<p style=\"color:#667085;font-size:.9em\">\(e(c.footer))</p></body></html>"
        return out
    }

    static func base64Lines(_ s: String) -> String {
        let b = Data(s.utf8).base64EncodedString()
        var lines: [Substring] = []
        var i = b.startIndex
        while i < b.endIndex {
            let j = b.index(i, offsetBy: 76, limitedBy: b.endIndex) ?? b.endIndex
            lines.append(b[i..<j])
            i = j
        }
        return lines.joined(separator: "\r\n")
    }

    /// RFC 2047 for anything not plain ASCII.
    static func encodeHeader(_ s: String) -> String {
        let plain = s.unicodeScalars.allSatisfy { $0.value >= 32 && $0.value < 127 }
        if plain { return s }
        // Encoded words of at most 75 characters, folded onto lines of their own.
        var chunks: [String] = [""]
        for ch in s {
            if chunks[chunks.count - 1].utf8.count + String(ch).utf8.count > 45 { chunks.append("") }
            chunks[chunks.count - 1].append(ch)
        }
        return chunks.map { "=?UTF-8?B?" + Data($0.utf8).base64EncodedString() + "?=" }.joined(separator: "\r\n ")
    }

    static func rfc5322Date(_ d: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return f.string(from: d)
    }
}

/// E-mail through the SMTP server of the settings.
public struct EmailChannel: NotificationChannel {
    public let name = "email"
    let config: NotifyConfig.Email

    public init(config: NotifyConfig.Email) { self.config = config }

    public func send(_ content: NotificationContent) async throws {
        let message = EmailMessage.render(content, from: config.from, to: config.to)
        try await SMTPClient(config: config).send(message: message)
    }
}
