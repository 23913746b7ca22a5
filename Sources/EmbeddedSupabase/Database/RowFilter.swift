import Shared

/// A `WHERE` clause over one table: PostgREST's horizontal filters, already parsed.
indirect enum RowFilter: Sendable, Hashable {
    /// A comparison operator of PostgREST's filter syntax.
    enum Operator: String, Sendable, Hashable, CaseIterable {
        case eq, neq, gt, gte, lt, lte, `in`, `is`
    }

    /// What `is.` tests.
    enum Truth: String, Sendable, Hashable {
        case null, notNull = "not_null", `true`, `false`, unknown
    }

    /// `column op value`, optionally negated (`not.`).
    case condition(column: String, op: Operator, operands: [String], negated: Bool)
    /// Every filter holds (`and=(…)`, and the query's filters together).
    case all([RowFilter])
    /// Any filter holds (`or=(…)`).
    case any([RowFilter])
    /// The negation (`not.and=(…)`, `not.or=(…)`).
    case not(RowFilter)

    /// The filter that keeps every row.
    static let everything = RowFilter.all([])

    /// Every column the filter names, to check them against the schema.
    var columns: [String] {
        switch self {
        case .condition(let column, _, _, _): [column]
        case .all(let filters), .any(let filters): filters.flatMap(\.columns)
        case .not(let filter): filter.columns
        }
    }

    /// Casts every operand to its column's type, as PostgreSQL reads a query's literals before any row:
    /// an unreadable one (`created_at=gt.notadate`) fails even on an empty table.
    func checkOperands(in schema: TableSchema) throws(SQLError) {
        switch self {
        case .all(let filters), .any(let filters):
            for filter in filters { try filter.checkOperands(in: schema) }
        case .not(let filter):
            try filter.checkOperands(in: schema)
        case .condition(let column, let op, let operands, _):
            guard op != .is, let type = schema.column(column)?.type else { return }
            for operand in operands { _ = try type.cast(.string(operand)) }
        }
    }

    /// Whether `row` passes, with SQL's null semantics (a comparison with null is not true).
    func matches(_ row: [String: JSONValue], in schema: TableSchema) throws(SQLError) -> Bool {
        switch self {
        case .all(let filters):
            for filter in filters where !(try filter.matches(row, in: schema)) { return false }
            return true
        case .any(let filters):
            for filter in filters where try filter.matches(row, in: schema) { return true }
            return false
        case .not(let filter):
            return !(try filter.matches(row, in: schema))
        case .condition(let column, let op, let operands, let negated):
            guard let type = schema.column(column)?.type else { throw SQLError.unknownColumn(column, table: schema.name) }
            let value = row[column] ?? .null
            if op == .is {
                guard let truth = Truth(rawValue: operands.first?.lowercased() ?? "") else {
                    throw SQLError(code: "PGRST100", message: "\"failed to parse filter (is.\(operands.first ?? ""))\" (line 1, column 4)")
                }
                let holds =
                    switch truth {
                    case .null, .unknown: value == .null
                    case .notNull: value != .null
                    case .true: value == .bool(true)
                    case .false: value == .bool(false)
                    }
                return holds != negated
            }
            guard value != .null else { return false }
            var candidates: [JSONValue] = []
            for operand in operands { candidates.append(try type.cast(.string(operand))) }
            let result: Bool
            switch op {
            case .eq: result = candidates.contains { type.equal(value, $0) }
            case .neq: result = !type.equal(value, candidates[0])
            case .gt: result = type.less(candidates[0], value)
            case .gte: result = !type.less(value, candidates[0])
            case .lt: result = type.less(value, candidates[0])
            case .lte: result = !type.less(candidates[0], value)
            case .in: result = candidates.contains { type.equal(value, $0) }
            case .is: result = false
            }
            return result != negated
        }
    }
}

/// `order=col.asc|desc[.nullsfirst|.nullslast]`, one column.
struct RowOrder: Sendable, Hashable {
    var column: String
    var descending = false
    /// PostgreSQL's default: nulls last ascending, first descending.
    var nullsFirst: Bool?

    /// Whether `a` sorts before `b` on this column; `nil` when they tie.
    func precedes(_ a: [String: JSONValue], _ b: [String: JSONValue], type: TableSchema.ColumnType) -> Bool? {
        let x = a[column] ?? .null
        let y = b[column] ?? .null
        if x == .null || y == .null {
            guard x != y else { return nil }
            return (x == .null) == (nullsFirst ?? descending)
        }
        if type.less(x, y) { return !descending }
        if type.less(y, x) { return descending }
        return nil
    }
}

extension TableSchema.ColumnType {
    /// Equality after casting both sides to this type.
    func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        !less(a, b) && !less(b, a)
    }
}
