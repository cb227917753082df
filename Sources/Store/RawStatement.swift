import GRDB
import GRDBSQLite

/// Binds values straight to a prepared statement with SQLite's C API: the write path runs this for
/// every message, delivery and line batch, where boxing each value costs more than SQLite does.
struct RawStatement {
    let handle: OpaquePointer
    private var index: Int32 = 1

    init(_ statement: Statement) {
        handle = statement.sqliteStatement
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    mutating func bind(_ v: Int64) {
        sqlite3_bind_int64(handle, index, v)
        index += 1
    }

    mutating func bind(_ v: Int64?) {
        if let v { sqlite3_bind_int64(handle, index, v) } else { sqlite3_bind_null(handle, index) }
        index += 1
    }

    mutating func bind(_ v: Int) { bind(Int64(v)) }
    mutating func bind(_ v: Int?) { bind(v.map(Int64.init)) }
    mutating func bind(_ v: Bool) { bind(Int64(v ? 1 : 0)) }

    mutating func bind(_ v: Double?) {
        if let v { sqlite3_bind_double(handle, index, v) } else { sqlite3_bind_null(handle, index) }
        index += 1
    }

    mutating func bind(_ v: String?) {
        if var s = v {
            s.withUTF8 { b in
                if let base = b.baseAddress, b.count > 0 {
                    _ = sqlite3_bind_text(handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self),
                                          Int32(b.count), RawStatement.transient)
                } else {
                    _ = sqlite3_bind_text(handle, index, "", 0, nil)
                }
            }
        } else {
            sqlite3_bind_null(handle, index)
        }
        index += 1
    }

    /// UTF-8 text given as bytes.
    mutating func bind(text: [UInt8]) {
        text.withUnsafeBufferPointer { b in
            if let base = b.baseAddress, b.count > 0 {
                _ = sqlite3_bind_text(handle, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(b.count),
                                      RawStatement.transient)
            } else {
                _ = sqlite3_bind_text(handle, index, "", 0, nil)
            }
        }
        index += 1
    }

    mutating func bind(blob: [UInt8]) {
        blob.withUnsafeBytes { b in
            _ = sqlite3_bind_blob(handle, index, b.baseAddress, Int32(b.count), RawStatement.transient)
        }
        index += 1
    }

    /// Runs the statement and makes it ready for the next values.
    mutating func run(_ db: Database) throws {
        let rc = sqlite3_step(handle)
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        index = 1
        guard rc == SQLITE_DONE || rc == SQLITE_ROW else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }
}
