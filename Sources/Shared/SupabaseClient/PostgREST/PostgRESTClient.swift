import Foundation

/// Calls PostgREST (`/rest/v1`) the way supabase-js does: named RPC arguments, profile headers,
/// filters in the query string, PostgREST error bodies decoded into `UpstreamError`.
///
/// One call is one attempt; callers retry through `RetryRunner`, which retries only what
/// `UpstreamError.failureClass` calls retryable (429, 5xx, timeouts, connection errors).
public struct PostgRESTClient: Sendable {
    let transport: any HTTPTransport

    /// Creates a client over `transport`.
    public init(transport: any HTTPTransport) { self.transport = transport }

    /// `POST /rest/v1/rpc/<function>` with named arguments; `nil` for 204 (a `void` function).
    public func rpc(_ function: String, schema: String = "public", arguments: [String: JSONValue]) async throws -> JSONValue? {
        try await send(
            UpstreamRequest(
                method: "POST", path: "/rest/v1/rpc/\(function)", headers: ["content-profile": schema], body: .object(arguments))
        )
    }

    /// `GET /rest/v1/<table>?select=…&<filters>`: the rows.
    public func select(_ table: String, columns: String = "*", filters: [Filter] = []) async throws -> [JSONValue] {
        let query = ([Filter(name: "select", value: columns)] + filters).map(\.encoded).joined(separator: "&")
        let result = try await send(
            UpstreamRequest(method: "GET", path: "/rest/v1/\(table)?\(query)", headers: ["accept-profile": "public"]))
        guard case .array(let rows)? = result else { throw UpstreamError(kind: .status(200), message: "\(table): not an array of rows") }
        return rows
    }

    /// What an upsert does with a row whose `on_conflict` key exists (PostgREST's `Prefer: resolution=`).
    public enum Resolution: String, Sendable {
        /// Update the existing row with every column sent (`ON CONFLICT … DO UPDATE`).
        case mergeDuplicates = "merge-duplicates"
        /// Keep the existing row as it is (`ON CONFLICT … DO NOTHING`).
        case ignoreDuplicates = "ignore-duplicates"
    }

    /// `POST /rest/v1/<table>` (insert, or upsert with `onConflict` and `resolution`), returning nothing.
    public func insert(
        _ table: String, rows: [JSONValue], upsertOn onConflict: String? = nil, resolution: Resolution = .mergeDuplicates
    ) async throws {
        var headers = ["content-profile": "public", "prefer": "return=minimal"]
        var path = "/rest/v1/\(table)"
        if let onConflict {
            headers["prefer"] = "resolution=\(resolution.rawValue),return=minimal"
            path += "?on_conflict=\(onConflict)"
        }
        _ = try await send(UpstreamRequest(method: "POST", path: path, headers: headers, body: .array(rows)))
    }

    /// `PATCH /rest/v1/<table>?<filters>` with the changed columns.
    public func update(_ table: String, set values: [String: JSONValue], filters: [Filter]) async throws {
        let query = filters.map(\.encoded).joined(separator: "&")
        _ = try await send(
            UpstreamRequest(
                method: "PATCH", path: "/rest/v1/\(table)?\(query)", headers: ["content-profile": "public"], body: .object(values))
        )
    }

    /// `DELETE /rest/v1/<table>?<filters>`.
    public func delete(_ table: String, filters: [Filter]) async throws {
        let query = filters.map(\.encoded).joined(separator: "&")
        _ = try await send(UpstreamRequest(method: "DELETE", path: "/rest/v1/\(table)?\(query)", headers: ["content-profile": "public"]))
    }

    private func send(_ request: UpstreamRequest) async throws -> JSONValue? {
        let response = try await transport.send(request)
        guard (200..<300).contains(response.status) else {
            let error = try? JSONValue(parsing: Data(response.body.utf8))
            throw UpstreamError(
                kind: .status(response.status), code: error?["code"]?.stringValue,
                message: error?["message"]?.stringValue ?? String(response.body.prefix(200))
            )
        }
        guard !response.body.isEmpty else { return nil }
        do {
            return try JSONValue(parsing: Data(response.body.utf8))
        } catch {
            throw UpstreamError(kind: .status(response.status), message: "\(request.path): body is not JSON")
        }
    }
}

/// A PostgREST query parameter: `column=op.value`, or `or=(...)`, `order=…`, `limit=…`.
public struct Filter: Sendable, Hashable {
    /// The parameter name (a column, `or`, `order`, `limit`, `select`).
    public var name: String
    /// The raw parameter value, before percent-encoding.
    public var value: String

    /// Creates a raw parameter.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// `column=eq.value`.
    public static func eq(_ column: String, _ value: String) -> Filter { Filter(name: column, value: "eq.\(value)") }

    /// `column=gte.value`.
    public static func gte(_ column: String, _ value: String) -> Filter { Filter(name: column, value: "gte.\(value)") }

    /// `column=is.true` / `is.null`.
    public static func `is`(_ column: String, _ value: String) -> Filter { Filter(name: column, value: "is.\(value)") }

    /// `column=in.(a,b,"c,d")`.
    public static func `in`(_ column: String, _ values: [String]) -> Filter {
        Filter(name: column, value: "in.\(list(values))")
    }

    /// `or=(a.in.(…),b.in.(…))`: rows where any of the inner conditions holds.
    public static func any(of conditions: [(column: String, values: [String])]) -> Filter {
        Filter(name: "or", value: "(" + conditions.map { "\($0.column).in.\(list($0.values))" }.joined(separator: ",") + ")")
    }

    /// PostgREST's list syntax: values with `,().":` or spaces are double-quoted, quotes and backslashes escaped.
    static func list(_ values: [String]) -> String {
        "("
            + values.map { value in
                let reserved = CharacterSet(charactersIn: ",().\":\\ ")
                guard value.rangeOfCharacter(from: reserved) != nil || value.isEmpty else { return value }
                return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
            }.joined(separator: ",") + ")"
    }

    /// `name=value`, percent-encoded for a query string.
    public var encoded: String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+#")
        return name.addingPercentEncoding(withAllowedCharacters: allowed)! + "=" + value.addingPercentEncoding(
            withAllowedCharacters: allowed)!
    }
}
