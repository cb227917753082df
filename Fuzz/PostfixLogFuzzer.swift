// libFuzzer entry point for the parser. Built with the parser's sources in one module by `Fuzz/build`.

/// libFuzzer calls this with arbitrary bytes: any input must give a record whose spans stay inside
/// the line, and never crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = UnsafeBufferPointer(start: data, count: size)
    let record = Parser().parse(line)
    let spans: [Span?] = [record.header.host, record.header.message, record.header.process.name]
    for case let s? in spans {
        precondition(s.start >= 0 && s.count >= 0 && s.end <= size, "span outside the line")
        _ = line.string(s)
    }
    _ = record.kind
    return 0
}
