import Foundation
import Hummingbird
import L10n
import Mustache

/// The HTML templates (Mustache, shipped with the binary) and the static files, loaded at start-up.
/// Every variable is HTML-escaped by `{{name}}`; the templates never use the unescaped forms for
/// anything that comes from a log or a user. `{{#t}}English text{{/t}}` is translated.
public struct Pages: Sendable {
    let library: MustacheLibrary
    let statics: [String: (type: String, data: ByteBuffer)]
    let version: String
    /// Chart.js from Debian's libjs-chart.js (or `-assets_dir`), when it is there.
    let chartJS: ByteBuffer?

    public init(version: String, assetsDir: String = "/usr/share/javascript") async throws {
        let root = Bundle.module.resourceURL!
        library = try await MustacheLibrary(directory: root.appendingPathComponent("Templates").path)
        var statics: [String: (String, ByteBuffer)] = [:]
        let dir = root.appendingPathComponent("Static").path
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
            let type = name.hasSuffix(".css") ? "text/css; charset=utf-8" : name.hasSuffix(".js") ? "text/javascript; charset=utf-8" : "application/octet-stream"
            statics[name] = (type, ByteBuffer(bytes: data))
        }
        self.statics = statics
        self.version = version
        var chart: ByteBuffer?
        for name in ["chart.umd.min.js", "chart.umd.js", "chart.min.js", "Chart.min.js", "chart.js"] {
            if let d = FileManager.default.contents(atPath: assetsDir + "/chart.js/" + name) {
                chart = ByteBuffer(bytes: d)
                break
            }
        }
        chartJS = chart
    }

    /// Renders `template` with `values` and what every page has (base path, CSRF token, language, the
    /// signed-in user, the translation lambda).
    func render(_ template: String, _ values: [String: Any], context: AppRequestContext, status: HTTPResponse.Status = .ok) -> Response {
        var all = values
        let l = context.localizer
        all["base"] = context.base
        all["csrf"] = context.csrfToken
        all["lang"] = l.language.replacingOccurrences(of: "_", with: "-")
        all["version"] = version
        all["signedIn"] = context.identity != nil
        if all["isAdmin"] == nil { all["isAdmin"] = context.identity?.isAdmin ?? false }
        all["t"] = MustacheLambda { text in l.raw(text.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let html = library.render(all, withTemplate: template) ?? "template \(template) is missing"
        return Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                        body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    func staticFile(_ name: String) -> Response? {
        guard let f = statics[name] else { return nil }
        return Response(status: .ok, headers: [.contentType: f.type, .cacheControl: "public, max-age=3600"],
                        body: .init(byteBuffer: f.data))
    }
}
