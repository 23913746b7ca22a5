import Foundation
import Shared

/// The Supabase slice's tables in memory: rows are JSON objects with every column of their
/// `TableSchema`, cast to the column's type, in insertion order.
///
/// It enforces what the app's PostgreSQL schema enforces and callers can observe through PostgREST:
/// column names, types, `varchar(24)` lengths, text without NUL, not-null, primary and unique keys,
/// foreign keys (checked on insert, update and delete), defaults and `on delete cascade`. It is no
/// SQL interpreter: filters are the few operators `RowFilter` knows.
struct EmbeddedTables: Sendable {
    /// One row: column name → value.
    typealias Row = [String: JSONValue]

    /// What an insert does when a row with the same key exists (PostgREST's `Prefer: resolution=`).
    enum Resolution: Sendable {
        /// Raise `23505`.
        case fail
        /// Update the existing row with the inserted columns (`merge-duplicates`).
        case merge
        /// Keep the existing row (`ignore-duplicates`).
        case ignore
    }

    private var rows: [String: [Row]] = [:]

    /// The schema of `table`, or `PGRST205`.
    func schema(_ table: String) throws(SQLError) -> TableSchema {
        guard let schema = TableSchema.all[table] else { throw SQLError.unknownTable(table) }
        return schema
    }

    /// Every row of `table`, in insertion order.
    func all(_ table: String) -> [Row] { rows[table] ?? [] }

    /// `SELECT *` with a filter, an order, an offset and a limit.
    func select(_ table: String, where filter: RowFilter = .everything, order: [RowOrder] = [], offset: Int = 0, limit: Int? = nil)
        throws(SQLError) -> [Row]
    {
        let schema = try schema(table)
        for column in filter.columns + order.map(\.column) where schema.column(column) == nil {
            throw SQLError.unknownColumn(column, table: table)
        }
        try filter.checkOperands(in: schema)
        var found: [Row] = []
        for row in all(table) where try filter.matches(row, in: schema) { found.append(row) }
        if !order.isEmpty {
            let keys = order.map { ($0, schema.column($0.column)!.type) }
            found = found.enumerated().sorted { a, b in
                for (key, type) in keys {
                    if let first = key.precedes(a.element, b.element, type: type) { return first }
                }
                return a.offset < b.offset
            }.map(\.element)
        }
        let page = found.dropFirst(max(offset, 0))
        return Array(limit.map { page.prefix(max($0, 0)) } ?? page)
    }

    /// `INSERT … ON CONFLICT (target) …`: returns the rows written (inserted or merged), in order.
    mutating func insert(
        _ table: String, _ values: [Row], conflictTarget: [String]? = nil, resolution: Resolution = .fail, now: Date
    ) throws(SQLError) -> [Row] {
        let schema = try schema(table)
        let target = conflictTarget ?? schema.primaryKey.columns
        guard let targetKey = schema.keys.first(where: { Set($0.columns) == Set(target) }) else {
            throw SQLError(code: "42P10", message: "there is no unique or exclusion constraint matching the ON CONFLICT specification")
        }
        var written: [Row] = []
        for value in values {
            let given = try cast(value, in: schema)
            var row = Row()
            for column in schema.columns {
                if let provided = given[column.name] {
                    row[column.name] = provided
                } else if column.defaultsToNow {
                    row[column.name] = .string(column.type.format(now))
                } else {
                    row[column.name] = column.defaultValue ?? .null
                }
            }
            try checkNotNull(row, in: schema)
            let existing = index(of: row, key: targetKey, in: table)
            switch (existing, resolution) {
            case (nil, _):
                try checkUnique(row, in: schema, skipping: nil)
                rows[table, default: []].append(row)
                written.append(row)
            case (.some, .fail):
                throw duplicate(row, key: targetKey)
            case (.some, .ignore):
                continue
            case (.some(let index), .merge):
                var merged = rows[table]![index]
                merged.merge(given) { _, new in new }
                try checkNotNull(merged, in: schema)
                try checkUnique(merged, in: schema, skipping: index)
                rows[table]![index] = merged
                written.append(merged)
            }
        }
        // PostgreSQL checks foreign keys once the statement's rows are in, after the unique keys.
        for row in written { try checkReferences(row, in: schema) }
        return written
    }

    /// `UPDATE … SET values WHERE filter`: returns the updated rows.
    mutating func update(_ table: String, set values: Row, where filter: RowFilter) throws(SQLError) -> [Row] {
        let schema = try schema(table)
        let given = try cast(values, in: schema)
        _ = try select(table, where: filter)
        var updated: [(index: Int, row: Row)] = []
        var previous: [Row] = []
        for index in all(table).indices where try filter.matches(rows[table]![index], in: schema) {
            var row = rows[table]![index]
            previous.append(row)
            row.merge(given) { _, new in new }
            try checkNotNull(row, in: schema)
            rows[table]![index] = row
            updated.append((index, row))
        }
        // Only a changed row can clash: checking every row against every other made one PATCH quadratic
        // in the table (seconds under the database lock for a few thousand users).
        for (index, row) in updated { try checkUnique(row, in: schema, skipping: index) }
        for (_, row) in updated { try checkReferences(row, in: schema) }
        // No foreign key cascades on update: a referenced key that changes must not be referenced.
        if schema.referencedBy.contains(where: { given[$0.key.references] != nil }) {
            try checkUnreferenced(previous, in: schema)
        }
        return updated.map(\.row)
    }

    /// `DELETE … WHERE filter`, cascading to referencing rows: returns the deleted rows of `table`.
    mutating func delete(_ table: String, where filter: RowFilter) throws(SQLError) -> [Row] {
        let schema = try schema(table)
        let doomed = try select(table, where: filter)
        guard !doomed.isEmpty else { return [] }
        var kept: [Row] = []
        for row in all(table) where !(try filter.matches(row, in: schema)) { kept.append(row) }
        rows[table] = kept
        for (referencing, key) in schema.referencedBy where key.cascades {
            let keys = doomed.compactMap { $0[key.references]?.stringValue }
            _ = try delete(referencing.name, where: .condition(column: key.column, op: .in, operands: keys, negated: false))
        }
        try checkUnreferenced(doomed, in: schema)
        return doomed
    }

    // MARK: - Constraints

    private func cast(_ values: Row, in schema: TableSchema) throws(SQLError) -> Row {
        var cast = Row()
        for (name, value) in values {
            guard let column = schema.column(name) else { throw SQLError.unknownBodyColumn(name, table: schema.name) }
            if case .string(let text) = value, text.unicodeScalars.contains("\u{0}") { throw SQLError.nulCharacter }
            cast[name] = try Self.fit(column.type.cast(value), to: column)
        }
        return cast
    }

    /// A `varchar(n)` value: longer is `22001`, unless only spaces are over, which PostgreSQL drops.
    private static func fit(_ value: JSONValue, to column: TableSchema.Column) throws(SQLError) -> JSONValue {
        guard let limit = column.maxLength, case .string(let text) = value, text.unicodeScalars.count > limit else { return value }
        let scalars = text.unicodeScalars
        let kept = scalars.index(scalars.startIndex, offsetBy: limit)
        guard scalars[kept...].allSatisfy({ $0 == " " }) else {
            throw SQLError(code: "22001", message: "value too long for type \(column.typeName)")
        }
        return .string(String(scalars[..<kept]))
    }

    /// `23503` unless every foreign key of `row` that is not null names an existing row.
    private func checkReferences(_ row: Row, in schema: TableSchema) throws(SQLError) {
        for key in schema.foreignKeys {
            guard let value = row[key.column], value != .null else { continue }
            guard !all(key.table).contains(where: { $0[key.references] == value }) else { continue }
            throw SQLError(
                code: "23503",
                message: "insert or update on table \"\(schema.name)\" violates foreign key constraint \"\(key.name)\"",
                details: "Key (\(key.column))=(\(TableSchema.ColumnType.render(value))) is not present in table \"\(key.table)\"."
            )
        }
    }

    /// `23503` when a row still references one of `gone` (rows deleted, or keys changed) by a key that no
    /// longer exists: `no action` foreign keys, checked after the cascades as at the end of the statement.
    private func checkUnreferenced(_ gone: [Row], in schema: TableSchema) throws(SQLError) {
        guard !gone.isEmpty else { return }
        for (referencing, key) in schema.referencedBy {
            let present = Set(all(schema.name).compactMap { $0[key.references] })
            for row in gone {
                guard let value = row[key.references], value != .null, !present.contains(value) else { continue }
                guard all(referencing.name).contains(where: { $0[key.column] == value }) else { continue }
                throw SQLError(
                    code: "23503",
                    message:
                        "update or delete on table \"\(schema.name)\" violates foreign key constraint \"\(key.name)\" on table \"\(referencing.name)\"",
                    details:
                        "Key (\(key.references))=(\(TableSchema.ColumnType.render(value))) is still referenced from table \"\(referencing.name)\"."
                )
            }
        }
    }

    private func checkNotNull(_ row: Row, in schema: TableSchema) throws(SQLError) {
        for column in schema.columns where !column.nullable && (row[column.name] ?? .null) == .null {
            throw SQLError(
                code: "23502",
                message: "null value in column \"\(column.name)\" of relation \"\(schema.name)\" violates not-null constraint"
            )
        }
    }

    private func checkUnique(_ row: Row, in schema: TableSchema, skipping skipped: Int?) throws(SQLError) {
        let existing = all(schema.name)
        for key in schema.keys {
            let taken = existing.indices.contains { index in
                index != skipped && key.columns.allSatisfy { existing[index][$0] == row[$0] }
            }
            if taken { throw duplicate(row, key: key) }
        }
    }

    private func index(of row: Row, key: TableSchema.UniqueKey, in table: String) -> Int? {
        all(table).firstIndex { existing in key.columns.allSatisfy { existing[$0] == row[$0] } }
    }

    private func duplicate(_ row: Row, key: TableSchema.UniqueKey) -> SQLError {
        SQLError.duplicate(
            constraint: key.name, columns: key.columns,
            values: key.columns.map { TableSchema.ColumnType.render(row[$0] ?? .null) })
    }
}
