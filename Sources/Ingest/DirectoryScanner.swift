#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PostfixLog

/// A log file found in a watched directory.
public struct LogFileInfo: Sendable, Equatable {
    public enum Rotation: Sendable, Equatable {
        /// The file being written (`mail.log`).
        case live
        /// `mail.log.1`, `mail.log.2.gz`
        case numbered(Int)
        /// `mail.log-20230102`, `mail.log-20230102.gz`
        case dated(String)
    }

    public var path: String
    public var name: String
    public var rotation: Rotation
    public var inode: UInt64
    public var size: Int64
    public var modified: Int64
    /// A hash of the first line (uncompressed): the file's identity across renames and compression.
    public var fingerprint: Int64
    /// The Unix time of the first line (its year guessed from the modification time), 0 if unknown.
    public var firstTime: Int64

    public var isLive: Bool { rotation == .live }
}

/// The files of one name pattern (`mail.log` and its rotations), oldest first.
public struct LogFamily: Sendable {
    public var pattern: String
    public var directory: String
    public var files: [LogFileInfo]
}

/// The first line's fingerprint and time of files already looked at, so that following a directory
/// does not open (and decompress) every rotated file again at each look. An entry holds while the
/// file's inode, size and modification time stay the same; live files are not cached.
public final class FileHeadCache: @unchecked Sendable {
    struct Key: Hashable { var path: String; var inode: UInt64; var size: Int64; var modified: Int64 }
    var heads: [Key: (fingerprint: Int64, firstTime: Int64)] = [:]

    public init() {}
}

public enum DirectoryScanner {
    public static let defaultPatterns = ["mail.log", "mail.warn", "mail.err", "maillog", "zimbra.log"]

    /// How a file name relates to a pattern, if it does.
    public static func rotation(of name: String, pattern: String) -> LogFileInfo.Rotation? {
        guard name.hasPrefix(pattern) else { return nil }
        var rest = Substring(name.dropFirst(pattern.count))
        if rest.isEmpty { return .live }
        for ext in [".gz", ".bz2"] where rest.hasSuffix(ext) {
            rest = rest.dropLast(ext.count)
            break
        }
        if rest.first == ".", let n = Int(rest.dropFirst()), n >= 0, rest.count <= 6 { return .numbered(n) }
        if rest.first == "-" {
            let d = rest.dropFirst()
            if d.count >= 8 && d.count <= 10, d.allSatisfy(\.isNumber) { return .dated(String(d)) }
        }
        return nil
    }

    /// The families of `patterns` in `directory`, each with its files ordered by the time of their
    /// first line (then by rotation: higher numbers and older dates first, the live file last).
    public static func scan(directory: String, patterns: [String],
                            cache: FileHeadCache = FileHeadCache()) throws -> (families: [LogFamily], unreadable: [String]) {
        guard let dir = opendir(directory) else {
            throw LogFileError(path: directory, message: "cannot open the directory: \(String(cString: strerror(errno)))")
        }
        var names: [String] = []
        while let e = readdir(dir) {
            let name = withUnsafePointer(to: e.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(dir)
        var families: [LogFamily] = []
        var unreadable: [String] = []
        let parser = Parser()
        for pattern in patterns {
            var files: [LogFileInfo] = []
            var seen = Set<Int64>()
            for name in names.sorted() {
                guard let rot = rotation(of: name, pattern: pattern) else { continue }
                // `mail.log.1` also starts with `mail.log`, but `mail.logger` is not ours (handled above).
                let path = directory + "/" + name
                var st = stat()
                guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                do {
                    let key = FileHeadCache.Key(path: path, inode: UInt64(st.st_ino), size: Int64(st.st_size),
                                                modified: Int64(st.st_mtim.tv_sec))
                    var fingerprint: Int64 = 0
                    var firstTime: Int64 = 0
                    var inode = UInt64(st.st_ino)
                    var size = Int64(st.st_size)
                    // The live file is read again each time: copytruncate can rewrite it in place
                    // with the same size within the same second.
                    if rot != .live, let head = cache.heads[key] {
                        (fingerprint, firstTime) = head
                    } else {
                        let cursor = try LogFileCursor(path: path)
                        // The file opened is the one described (renamed in between: its own inode and size).
                        var renamed = false
                        if let now = cursor.fileStatus, now.inode != inode {
                            (inode, size) = now
                            renamed = true
                        }
                        // Only a whole line identifies a file (the live one may be half written).
                        if let (line, _) = try cursor.nextLine(final: rot != .live) {
                            fingerprint = fingerprintOf(line)
                            let t = parser.parse(line).header.time
                            if t.isKnown {
                                let year = YearTracker.startingYear(firstLine: t, modifiedAt: Int64(st.st_mtim.tv_sec))
                                firstTime = t.unixSeconds(year: year)
                            }
                        }
                        if rot != .live && !renamed { cache.heads[key] = (fingerprint, firstTime) }
                    }
                    // The same content under two names (numbered and dated rotations) is read once.
                    if fingerprint != 0 && !seen.insert(fingerprint).inserted && rot != .live { continue }
                    files.append(LogFileInfo(path: path, name: name, rotation: rot, inode: inode, size: size,
                                             modified: Int64(st.st_mtim.tv_sec), fingerprint: fingerprint, firstTime: firstTime))
                } catch {
                    unreadable.append("\(path): \(error)")
                }
            }
            guard !files.isEmpty else { continue }
            files.sort { a, b in
                if a.isLive != b.isLive { return !a.isLive }
                if a.firstTime != b.firstTime, a.firstTime != 0, b.firstTime != 0 { return a.firstTime < b.firstTime }
                switch (a.rotation, b.rotation) {
                case let (.numbered(x), .numbered(y)): return x > y
                case let (.dated(x), .dated(y)): return x < y
                default: return a.modified < b.modified
                }
            }
            families.append(LogFamily(pattern: pattern, directory: directory, files: files))
        }
        return (families, unreadable)
    }

    /// The identity of a file: a hash of its first line.
    public static func fingerprintOf(_ line: UnsafeBufferPointer<UInt8>) -> Int64 {
        var h = fnv1a(line)
        if h == 0 { h = 1 }
        return h
    }
}
