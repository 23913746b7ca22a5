import Foundation
import HummingbirdCore
import Shared
import Testing

@testable import EmbeddedSupabase

/// Issue 16: the PostgREST query parser (`PostgRESTQuery`): any query string gives a query or a
/// PostgREST error, never a crash or a hang, and every query it gives can be applied to rows.
@Suite struct PostgRESTFuzzTests {
    static let columns = ["id", "name", "is_bot", "last_active", "messages_exchanged", "ended_at", "users", "nope"]
    static let operators = ["eq", "neq", "gt", "gte", "lt", "lte", "in", "is", "like", "not.eq", "not.in", ""]
    static let operands = [
        "alice", "\"a,b\"", "\"c\\\"d\"", "1", "9223372036854775808", "1.5", "true", "null", "(a,b)", "(\"x,y\",z)", "2026-12-03",
        "2026-12-03T06:28:48%2B00:00", "%28", "%", "%zz", ",", "(", ")", "\"", "", "é", "%C3%A9", "%00",
    ]

    /// A filter `key=value` pair, possibly a logic tree `depth` levels deep.
    static func filter(_ random: inout SplitMix64, depth: Int) -> String {
        func condition() -> String {
            random.pick(columns) + "." + random.pick(operators) + "." + random.pick(operands)
        }
        func tree(_ level: Int) -> String {
            guard level > 0 else { return condition() }
            let items = (0..<(1 + random.below(3))).map { _ in random.oneIn(2) ? condition() : tree(level - 1) }
            return random.pick(["or", "and", "not.or", "not.and"]) + "(" + items.joined(separator: ",") + ")"
        }
        if random.oneIn(3) { return random.pick(columns) + "=" + random.pick(operators) + "." + random.pick(operands) }
        let inner = (0..<(1 + random.below(2))).map { _ in random.oneIn(3) ? condition() : tree(depth) }.joined(separator: ",")
        return random.pick(["or", "and", "not.or", "not.and"]) + "=(" + inner + ")"
    }

    static func query(_ random: inout SplitMix64) -> String {
        var parts: [String] = []
        for _ in 0..<random.below(5) {
            switch random.below(6) {
            case 0: parts.append("select=" + (0..<random.below(4)).map { _ in random.pick(columns + ["*"]) }.joined(separator: ","))
            case 1:
                parts.append(
                    "order=" + random.pick(columns) + random.pick(["", ".asc", ".desc", ".desc.nullslast", ".nullsfirst", ".up"]))
            case 2: parts.append(random.pick(["limit", "offset"]) + "=" + random.pick(["0", "10", "-1", "x", "99999999999999999999"]))
            case 3:
                // Deep trees: a few levels usually, thousands now and then (issue 16's 14,000-level URL).
                let depth = random.oneIn(50) ? 1_000 + random.below(14_000) : random.below(6)
                if depth > 100 {
                    parts.append("or=" + String(repeating: "(or", count: depth) + "(id.eq.1" + String(repeating: ")", count: depth + 1))
                } else {
                    parts.append(filter(&random, depth: depth))
                }
            case 4: parts.append("on_conflict=" + random.pick(columns))
            default: parts.append(filter(&random, depth: 1))
            }
        }
        if random.oneIn(100) { parts.append("id=eq." + String(repeating: "a", count: 100_000)) }
        return parts.joined(separator: "&")
    }

    /// A row of `schema` with a value in every column.
    static func row(_ schema: TableSchema) -> [String: JSONValue] {
        var row: [String: JSONValue] = [:]
        for column in schema.columns {
            row[column.name] =
                switch column.type {
                case .text: "alice"
                case .integer: 3
                case .boolean: false
                case .timestamptz, .timestamp: .string(column.type.format(Date(timeIntervalSince1970: 1_796_000_000)))
                }
        }
        return row
    }

    /// Parses `query` as the table route does and applies the result to a row of every table.
    static func apply(_ query: String) {
        let parameters = URI("/rest/v1/user?" + query).queryParameters.map { (key: String($0.key), value: String($0.value)) }
        let parsed: PostgRESTQuery
        do {
            parsed = try PostgRESTQuery(parameters)
        } catch {
            #expect(error.code.hasPrefix("PGRST") || error.code.count == 5, "\(error)")
            return
        }
        for schema in TableSchema.all.values {
            let rows = [row(schema), [:]]
            for row in rows {
                do {
                    _ = try parsed.filter.matches(row, in: schema)
                } catch {
                    #expect(!error.code.isEmpty && !error.message.isEmpty)
                }
            }
            for order in parsed.order {
                if let type = schema.column(order.column)?.type { _ = order.precedes(rows[0], rows[1], type: type) }
            }
        }
    }

    @Test func arbitraryQueriesGiveAQueryOrAnError() async {
        let corpus = FuzzFiles.corpus("postgrest")
        let mutator = Mutator(
            tokens: ["(", ")", ",", "\"", "%", "%2C", "%28", "&", "=", "or=(", "not.", ".eq.", "\\"].map { Array($0.utf8) })
        await FuzzBudget.current(defaultIterations: 1_500).run("postgrest query") { random, _ in
            let generated = Self.query(&random)
            Self.apply(generated)
            let seed = random.oneIn(2) ? Array(generated.utf8.prefix(2_000)) : random.pick(corpus)
            Self.apply(String(decoding: mutator.mutate(seed, &random, splice: random.pick(corpus)), as: UTF8.self))
        }
    }
}
