import CSQLiteConfig
import GRDB
import GRDBSQLite
import Tracking

/// Rows for one `INSERT ... SELECT c0, c1, ... FROM lm_rows(?)`: a batch's messages, deliveries or
/// raw-line references written by one statement run, not one per row. Run once per row, an insert
/// opens a cursor on its table and on each index, seeks from their roots and closes them again, and
/// is bound, stepped and reset: that was most of the writer's time. Over `lm_rows` (a table-valued
/// function of our C target) SQLite keeps its cursors positioned from row to row.
///
/// Values are added row after row, `columns` per row. Text is copied into one buffer of the batch;
/// its pointers are set when the statement runs, and stay valid while it runs.
struct RowBatch {
    let columns: Int
    private(set) var values: [lm_value] = []
    /// The text of the rows, one after the other (`lm_value.i` is where each begins until `insert`).
    private var text: [UInt8] = [0]

    /// `rows`: how many rows will be added, if known (room for them is made at once).
    init(columns: Int, rows: Int = 0) {
        precondition(columns <= Int(LM_ROWS_MAX_COLUMNS))
        self.columns = columns
        values.reserveCapacity(rows * columns)
        text.reserveCapacity(1 + rows * columns * 12)
    }

    var count: Int { values.count / columns }
    var isEmpty: Bool { values.isEmpty }

    mutating func removeAll() {
        values.removeAll(keepingCapacity: true)
        text.removeAll(keepingCapacity: true)
        text.append(0)
    }

    mutating func add(_ v: Int64) {
        values.append(lm_value(i: v, d: 0, p: nil, type: Int32(LM_INTEGER), length: 0))
    }

    mutating func add(_ v: Int64?) {
        if let v { add(v) } else { addNull() }
    }

    mutating func add(_ v: Int) { add(Int64(v)) }
    mutating func add(_ v: Int?) { add(v.map(Int64.init)) }
    mutating func add(_ v: Bool) { add(Int64(v ? 1 : 0)) }

    mutating func add(_ v: Double?) {
        if let v {
            values.append(lm_value(i: 0, d: v, p: nil, type: Int32(LM_REAL), length: 0))
        } else {
            addNull()
        }
    }

    mutating func add(_ v: String?) {
        guard var s = v else { return addNull() }
        s.withUTF8 { addText($0) }
    }

    /// Text: its bytes copied into the batch's buffer, where the value will point.
    private mutating func addText(_ bytes: UnsafeBufferPointer<UInt8>) {
        let start = text.count
        text.append(contentsOf: bytes)
        values.append(lm_value(i: Int64(start), d: 0, p: nil, type: Int32(LM_TEXT), length: Int32(bytes.count)))
    }

    /// A string read where it is (a message's, a recipient's field through a pointer): not copied
    /// out first, which retains and releases its storage (from another thread than the one that made
    /// it, that cost more than the copy of its bytes). `withUTF8` changes nothing of a native string.
    mutating func add(inPlace s: inout String) {
        s.withUTF8 { addText($0) }
    }

    mutating func add(inPlace s: inout String?) {
        if s == nil { return addNull() }
        add(inPlace: &s!)
    }

    /// UTF-8 text given as bytes.
    mutating func add(text bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { addText($0) }
    }

    /// A string of a message's or a recipient's buffer, copied from where it is (`withTextBytes`).
    mutating func add(_ ref: TextRef, in bytes: UnsafeBufferPointer<UInt8>) {
        if ref.isNone { return addNull() }
        addText(ref.bytes(in: bytes))
    }

    mutating func addNull() {
        values.append(lm_value(i: 0, d: 0, p: nil, type: Int32(LM_NULL), length: 0))
    }

    /// Runs `sql`, whose one parameter is `lm_rows(?)`, over the rows added, then empties the batch.
    mutating func insert(_ sql: String, _ db: Database) throws {
        guard !values.isEmpty else { return }
        precondition(values.count % columns == 0, "a row of \(columns) values was left unfinished")
        let statement = try db.cachedStatement(sql: sql).sqliteStatement
        let columns = Int32(columns)
        let rc: Int32 = text.withUnsafeBufferPointer { t in
            values.withUnsafeMutableBufferPointer { vs -> Int32 in
                let base = UnsafeRawPointer(t.baseAddress!)
                for i in vs.indices where vs[i].type == Int32(LM_TEXT) {
                    vs[i].p = base + Int(vs[i].i)
                }
                var rows = lm_rows(columns: columns, count: Int64(vs.count) / Int64(columns), values: UnsafePointer(vs.baseAddress))
                return withUnsafePointer(to: &rows) { r in
                    sqlite3_reset(statement)
                    lm_bind_rows(statement, 1, r)
                    let rc = sqlite3_step(statement)
                    sqlite3_reset(statement)
                    sqlite3_clear_bindings(statement)
                    return rc
                }
            }
        }
        removeAll()
        guard rc == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
        }
    }

    /// `INSERT INTO table (names) SELECT c0, ... FROM lm_rows(?)` with `tail` after it (an upsert's
    /// `ON CONFLICT` clause needs the `WHERE true` that comes first).
    static func insertSQL(_ table: String, _ names: [String], tail: String = "") -> String {
        let select = names.indices.map { "c\($0)" }.joined(separator: ", ")
        return "INSERT INTO \(table) (\(names.joined(separator: ", "))) SELECT \(select) FROM lm_rows(?) WHERE true \(tail)"
    }
}

/// Makes `lm_rows(?)` and `lm_search_key(text)` known to a connection.
func registerRows(_ db: Database) throws {
    var rc = lm_register_rows(db.sqliteConnection)
    guard rc == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: "lm_rows") }
    rc = lm_register_search_key(db.sqliteConnection)
    guard rc == SQLITE_OK else { throw DatabaseError(resultCode: ResultCode(rawValue: rc), message: "lm_search_key") }
}
