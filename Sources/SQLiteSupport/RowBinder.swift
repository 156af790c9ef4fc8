import ChainCore
import GRDB
import GRDBSQLite

/// Many rows inserted with multi-row statements whose values are bound straight to SQLite
/// (`sqlite3_bind_*`), for a writer's bulk paths (a connected block's thousands of rows).
///
/// GRDB's `execute(arguments:)` builds a `StatementArguments` (its generic initializer, not
/// specialized across modules, projects each value through a key path), validates it, then binds
/// it; and a row of `DatabaseValue`s costs an array and a `Data` per blob. Here each value goes
/// from the caller's own storage to `sqlite3_bind_*` (SQLite copies it: `SQLITE_TRANSIENT`). Under
/// a payment flood the chain store's CPU per transaction fell by about 15% (issue 11: alternated
/// 30 s floods, 2.29–2.32 generator units against 2.68–2.74).
///
/// The statement is GRDB's (`cachedStatement`, prepared once a shape), only stepped here, inside
/// the caller's transaction: a transaction observer that asks for the changes of the tables
/// written (`observes(eventsOfKind:)`) is not told of these rows, so it must not be used on those.
/// Observers of commits alone (the mempool's `RowIDs`) are told of the commit as before: GRDB runs it.
public enum BulkInsert {
    /// Inserts `count` rows of `width` values with `head` ("INSERT … INTO t VALUES"), in order (so
    /// OR REPLACE works as one statement per row would). Each statement takes the first of `chunks`
    /// (largest first) that the rows left fill, or all of them when none does: `[64]`, 64 rows a
    /// statement and the rest in one; `[128, 32, 8, 2, 1]`, a handful of statement shapes for any
    /// count (each shape is prepared once). `bind(&row, i)` binds row `i`'s values in column order,
    /// exactly `width` of them. Throws SQLite's error (a constraint broken, say) as a `DatabaseError`.
    public static func rows(_ db: Database, _ head: String, width: Int, count: Int, chunks: [Int] = [64],
                            bind: (inout RowBinder, Int) throws -> Void) throws {
        precondition(width > 0 && chunks.allSatisfy { $0 > 0 }, "a width and chunks of at least 1")
        let shape = "(" + Array(repeating: "?", count: width).joined(separator: ", ") + ")"
        // Each shape's SQL is built and looked up once a call: a block's 5,000 rows are 79
        // statements of one shape, and its text (2 KB at 64 rows of 5) is hashed at each lookup.
        var statements: [Int: Statement] = [:]
        var start = 0
        while start < count {
            let n = chunks.first { $0 <= count - start } ?? (count - start)
            let statement: Statement
            if let known = statements[n] {
                statement = known
            } else {
                statement = try db.cachedStatement(sql: head + " " + Array(repeating: shape, count: n).joined(separator: ", "))
                statements[n] = statement
            }
            var binder = RowBinder(statement.sqliteStatement)
            binder.prepare(db)
            for i in start..<(start + n) {
                let first = binder.index
                try bind(&binder, i)
                precondition(binder.index - first == width, "row \(i) bound \(binder.index - first) values, not \(width)")
            }
            try binder.step(db, statement)
            start += n
        }
    }

    /// Runs `statement` (prepared by GRDB) once with the values `bind` binds, all of its parameters:
    /// a statement that returns no row (the chain store's delete of each spent coin), not a query.
    public static func run(_ db: Database, _ statement: Statement, bind: (inout RowBinder) throws -> Void) throws {
        var binder = RowBinder(statement.sqliteStatement)
        binder.prepare(db)
        try bind(&binder)
        try binder.step(db, statement)
    }
}

/// The values of one statement, bound in parameter order (`BulkInsert`).
public struct RowBinder {
    private let handle: OpaquePointer
    /// The next parameter's index (SQLite counts from 1).
    public private(set) var index: Int32 = 1

    fileprivate init(_ handle: OpaquePointer) { self.handle = handle }

    /// SQLite's own destructor sentinel: copy the value now.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    public mutating func int(_ value: Int64) {
        check(sqlite3_bind_int64(handle, index, value))
    }

    public mutating func int(_ value: Int) { int(Int64(value)) }

    public mutating func bool(_ value: Bool) { int(Int64(value ? 1 : 0)) }

    public mutating func double(_ value: Double) {
        check(sqlite3_bind_double(handle, index, value))
    }

    public mutating func double(_ value: Double?) {
        if let value { double(value) } else { null() }
    }

    public mutating func blob(_ bytes: UnsafeRawBufferPointer) {
        // A zero-length blob needs a non-null pointer, or SQLite binds NULL.
        let base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        check(sqlite3_bind_blob(handle, index, base, Int32(bytes.count), Self.transient))
    }

    public mutating func blob(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { blob($0) }
    }

    /// A hash's 32 bytes in internal order, as `Data(hash.bytes)` stores them.
    public mutating func blob(_ hash: Hash256) {
        let words = (hash.w0.littleEndian, hash.w1.littleEndian, hash.w2.littleEndian, hash.w3.littleEndian)
        withUnsafeBytes(of: words) { blob($0) }
    }

    public mutating func text(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            // An empty string needs a non-null pointer too, or SQLite binds NULL.
            utf8.withMemoryRebound(to: CChar.self) { chars in
                let empty: StaticString = ""
                let base = chars.baseAddress ?? UnsafeRawPointer(empty.utf8Start).assumingMemoryBound(to: CChar.self)
                check(sqlite3_bind_text(handle, index, base, Int32(chars.count), Self.transient))
            }
        }
    }

    public mutating func text(_ value: String?) {
        if let value { text(value) } else { null() }
    }

    public mutating func null() {
        check(sqlite3_bind_null(handle, index))
    }

    /// A bind fails only for an index out of range or a value too big: a bug of the caller's, as in GRDB.
    private mutating func check(_ code: Int32) {
        precondition(code == SQLITE_OK, "sqlite3_bind at \(index) failed with \(code)")
        index += 1
    }

    fileprivate mutating func prepare(_ db: Database) {
        precondition(db.sqliteConnection == sqlite3_db_handle(handle), "a statement of this connection")
        // A statement GRDB last stepped may still hold its last row or bindings.
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        index = 1
    }

    /// Steps the statement once, every parameter bound, then resets it for its next use.
    /// The statement's SQL is read only for an error: GRDB's `Statement.sql` copies and trims it,
    /// which for a statement of 64 rows cost more than the binding it replaces.
    fileprivate func step(_ db: Database, _ statement: Statement) throws {
        let parameters = sqlite3_bind_parameter_count(handle)
        precondition(index - 1 == parameters, "bound \(index - 1) values of \(parameters)")
        let code = sqlite3_step(handle)
        let message = code == SQLITE_DONE ? nil : sqlite3_errmsg(db.sqliteConnection).map { String(cString: $0) }
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
        }
    }
}
