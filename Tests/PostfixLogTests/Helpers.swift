import PostfixLog
import Testing

/// A parsed line and its bytes, to read spans back as strings.
struct Parsed {
    let line: LogLine
    let record: Record

    init(_ text: String, format: LogFormat = .auto) {
        line = LogLine(text)
        record = Parser(format: format).parse(line)
    }

    func s(_ span: Span) -> String { line.string(span) }
    func s(_ span: Span?) -> String? { line.string(span) }

    var header: Header { record.header }
    var payload: Payload { record.payload }
    var kind: String { record.kind }
}

/// The folder of real logs beside the checkout, when it is there.
enum RealLogs {
    static var directory: String? {
        var dir = #filePath
        for _ in 0..<3 { dir = String(dir[..<dir.lastIndex(of: "/")!]) }
        let candidate = dir + "/../shared/real-logs"
        return fileExists(candidate + "/README.md") ? candidate : nil
    }
}

#if canImport(Glibc)
import Glibc
#endif

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

func readLines(_ path: String) -> [String] {
    guard let f = fopen(path, "r") else { return [] }
    defer { fclose(f) }
    var bytes: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = fread(&buf, 1, buf.count, f)
        if n <= 0 { break }
        bytes.append(contentsOf: buf[0..<n])
    }
    return bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        .filter { !$0.isEmpty }
}

func listDirectory(_ path: String) -> [String] {
    guard let d = opendir(path) else { return [] }
    defer { closedir(d) }
    var names: [String] = []
    while let e = readdir(d) {
        let name = withUnsafePointer(to: e.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names.sorted()
}
