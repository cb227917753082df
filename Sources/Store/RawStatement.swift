import GRDB
import GRDBSQLite

/// Binds values straight to a prepared statement with SQLite's C API, for the write path's statements
/// that are not over many rows (a batch's raw-line block, the status counts; rows go by `RowBatch`),
/// where boxing each value would cost more than SQLite does.
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

    mutating func bind(_ v: Int) { bind(Int64(v)) }

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
