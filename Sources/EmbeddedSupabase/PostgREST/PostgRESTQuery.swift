import Foundation

/// A PostgREST table request's query string: columns, filters, order, page and conflict target.
///
/// Grammar (PostgREST's, the subset the slice uses): `col=[not.]op.value` with `eq, neq, gt, gte,
/// lt, lte, in, is`; `in.(a,"b,c")`; `or=(…)`, `and=(…)` and their `not.` forms, nested; `select=a,b`
/// or `*`; `order=a.desc.nullslast,b`; `limit`, `offset`; `on_conflict=a,b`.
struct PostgRESTQuery: Sendable, Hashable {
    /// The deepest `or`/`and` nesting a filter may have. PostgREST itself sets none, but a request
    /// thousands of levels deep costs quadratic time and unbounded recursion to read, so the stand-in
    /// refuses it up front (`PGRST100`) in one linear scan; the app's filters are at most two deep.
    static let maxLogicDepth = 32

    /// Columns to return; `nil` is `*`.
    var select: [String]?
    var filter: RowFilter = .everything
    var order: [RowOrder] = []
    var limit: Int?
    var offset = 0
    var onConflict: [String]?

    /// Parses the query parameters in order; a filter it cannot read is `PGRST100`.
    init(_ parameters: [(key: String, value: String)]) throws(SQLError) {
        var filters: [RowFilter] = []
        for (key, value) in parameters {
            switch key {
            case "select":
                let columns = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                select = columns.contains("*") ? nil : columns
            case "order":
                order = try Self.split(value).map(Self.order)
            case "limit":
                limit = try Self.integer(value, key)
            case "offset":
                offset = try Self.integer(value, key)
            case "on_conflict":
                onConflict = value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            case "columns":
                continue
            case "or", "and", "not.or", "not.and":
                try Self.checkNesting(value)
                filters.append(try Self.logic(key + value))
            default:
                filters.append(try Self.condition(column: key, value, quoted: false))
            }
        }
        filter = filters.count == 1 ? filters[0] : .all(filters)
    }

    /// `[not.]or(…)` or `[not.]and(…)`.
    private static func logic(_ text: String) throws(SQLError) -> RowFilter {
        var rest = Substring(text)
        let negated = rest.hasPrefix("not.")
        if negated { rest = rest.dropFirst(4) }
        let isOr = rest.hasPrefix("or(")
        guard isOr || rest.hasPrefix("and("), rest.hasSuffix(")") else { throw unparsable("logic tree", text) }
        let inner = rest.dropFirst(isOr ? 3 : 4).dropLast()
        var operands: [RowFilter] = []
        for item in try split(String(inner)) {
            if item.hasPrefix("or(") || item.hasPrefix("and(") || item.hasPrefix("not.or(") || item.hasPrefix("not.and(") {
                operands.append(try logic(item))
            } else {
                guard let dot = item.firstIndex(of: ".") else { throw unparsable("logic tree", text) }
                operands.append(try condition(column: String(item[..<dot]), String(item[item.index(after: dot)...]), quoted: true))
            }
        }
        let tree: RowFilter = isOr ? .any(operands) : .all(operands)
        return negated ? .not(tree) : tree
    }

    /// Refuses a logic tree nested deeper than `maxLogicDepth`: counts the parentheses outside double quotes
    /// that open a tree (the value's own, and each `or(`/`and(`), not an `in.(…)` list.
    private static func checkNesting(_ text: String) throws(SQLError) {
        let bytes = Array(text.utf8)
        var opened: [Bool] = []  // for each open parenthesis: does it open a tree?
        var trees = 0
        for index in structure(of: bytes).offsets {
            if bytes[index] == UInt8(ascii: "(") {
                let before = bytes[..<index]
                let isTree = index == 0 || before.suffix(2).elementsEqual("or".utf8) || before.suffix(3).elementsEqual("and".utf8)
                opened.append(isTree)
                if isTree { trees += 1 }
                if trees > maxLogicDepth {
                    throw SQLError(
                        code: "PGRST100",
                        message: "\"failed to parse logic tree: nested deeper than \(maxLogicDepth) levels\" (line 1, column 1)")
                }
            } else if bytes[index] == UInt8(ascii: ")"), let isTree = opened.popLast() {
                if isTree { trees -= 1 }
            }
        }
    }

    /// `[not.]op.value` on `column`; inside a logic tree a value may be double-quoted.
    private static func condition(column: String, _ text: String, quoted: Bool) throws(SQLError) -> RowFilter {
        var rest = Substring(text)
        let negated = rest.hasPrefix("not.")
        if negated { rest = rest.dropFirst(4) }
        guard let dot = rest.firstIndex(of: "."), let op = RowFilter.Operator(rawValue: String(rest[..<dot])) else {
            throw unparsable("filter", text)
        }
        let value = String(rest[rest.index(after: dot)...])
        let operands: [String]
        switch op {
        case .in:
            guard value.hasPrefix("("), value.hasSuffix(")") else { throw unparsable("filter", text) }
            operands = try split(String(value.dropFirst().dropLast())).map(unquote)
        case .is:
            guard RowFilter.Truth(rawValue: value.lowercased()) != nil else { throw unparsable("filter", text) }
            operands = [value]
        default:
            operands = [quoted ? unquote(value) : value]
        }
        return .condition(column: column, op: op, operands: operands, negated: negated)
    }

    /// `col[.asc|.desc][.nullsfirst|.nullslast]`.
    private static func order(_ text: String) throws(SQLError) -> RowOrder {
        let parts = text.split(separator: ".").map(String.init)
        guard let column = parts.first, !column.isEmpty, parts.count <= 3 else { throw unparsable("order", text) }
        var order = RowOrder(column: column)
        for part in parts.dropFirst() {
            switch part {
            case "asc": order.descending = false
            case "desc": order.descending = true
            case "nullsfirst": order.nullsFirst = true
            case "nullslast": order.nullsFirst = false
            default: throw unparsable("order", text)
            }
        }
        return order
    }

    /// Splits on commas outside parentheses and double quotes.
    private static func split(_ text: String) throws(SQLError) -> [String] {
        let bytes = Array(text.utf8)
        let (offsets, quotesClosed) = structure(of: bytes)
        var items: [String] = []
        var start = 0
        var depth = 0
        for index in offsets {
            switch bytes[index] {
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"):
                depth -= 1
                if depth < 0 { throw unparsable("filter", text) }
            case UInt8(ascii: ",") where depth == 0:
                items.append(String(decoding: bytes[start..<index], as: UTF8.self))
                start = index + 1
            default: break
            }
        }
        guard depth == 0, quotesClosed else { throw unparsable("filter", text) }
        if start < bytes.count || !items.isEmpty { items.append(String(decoding: bytes[start...], as: UTF8.self)) }
        return items
    }

    /// The offsets of `(`, `)` and `,` that stand outside double quotes (inside them a backslash escapes the next
    /// character): the only places where they are structure rather than data. `quotesClosed` is false when a
    /// quote is left open. One scanner for `split` and `checkNesting`, so both read quotes alike.
    private static func structure(of bytes: [UInt8]) -> (offsets: [Int], quotesClosed: Bool) {
        var offsets: [Int] = []
        var inQuotes = false
        var escaped = false
        for (index, byte) in bytes.enumerated() {
            if escaped {
                escaped = false
            } else if byte == UInt8(ascii: "\\") && inQuotes {
                escaped = true
            } else if byte == UInt8(ascii: "\"") {
                inQuotes.toggle()
            } else if !inQuotes, byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")") || byte == UInt8(ascii: ",") {
                offsets.append(index)
            }
        }
        return (offsets, !inQuotes)
    }

    /// `"a,b"` → `a,b`, with `\"` and `\\` unescaped; unquoted text stays as it is.
    private static func unquote(_ text: String) -> String {
        guard text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") else { return text }
        var result = ""
        var escaped = false
        for character in text.dropFirst().dropLast() {
            if !escaped && character == "\\" {
                escaped = true
                continue
            }
            escaped = false
            result.append(character)
        }
        return result
    }

    private static func integer(_ text: String, _ key: String) throws(SQLError) -> Int {
        guard let value = Int(text), value >= 0 else { throw unparsable(key, text) }
        return value
    }

    private static func unparsable(_ what: String, _ text: String) -> SQLError {
        SQLError(code: "PGRST100", message: "\"failed to parse \(what) (\(text))\" (line 1, column 1)")
    }
}
