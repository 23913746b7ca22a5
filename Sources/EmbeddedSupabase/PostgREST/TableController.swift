import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Shared

/// The embedded backend's `/rest/v1/<table>`: PostgREST's select, insert (and upsert), update and
/// delete over the in-memory tables, with its status codes, `Prefer` handling and error bodies.
struct TableController: Sendable {
    let store: EmbeddedStore
    /// Verifies `Authorization`/`apikey` when keys are configured; `nil` accepts every caller.
    let verifier: JWTVerifier?

    static let path: RouterPath = "/rest/v1/:table"

    func addRoutes<Context: RequestContext>(to router: some RouterMethods<Context>) {
        router.get(Self.path, use: select)
        router.post(Self.path, use: insert)
        router.patch(Self.path, use: update)
        router.delete(Self.path, use: delete)
    }

    /// `GET`: the rows that pass the filters, as a JSON array (or one object for `vnd.pgrst.object`).
    @Sendable func select(_ request: Request, context: some RequestContext) async throws -> Response {
        let (table, query) = try await prepare(request, context)
        let rows = try run { tables, _ in
            try tables.select(table, where: query.filter, order: query.order, offset: query.offset, limit: query.limit)
        }
        let projected = try project(rows, table: table, query: query)
        var response: Response
        if request.headers[.accept]?.contains("application/vnd.pgrst.object+json") == true {
            guard projected.count == 1 else {
                throw PostgRESTError(
                    status: .notAcceptable, code: "PGRST116", message: "JSON object requested, multiple (or no) rows returned",
                    details: "The result contains \(projected.count) rows")
            }
            response = .json(projected[0])
        } else {
            response = .json(projected)
        }
        response.headers[HTTPField.Name("Content-Range")!] = rows.isEmpty ? "*/*" : "\(query.offset)-\(query.offset + rows.count - 1)/*"
        return response
    }

    /// `POST`: inserts one object or an array of them; upserts with `Prefer: resolution=…`.
    @Sendable func insert(_ request: Request, context: some RequestContext) async throws -> Response {
        let (table, query) = try await prepare(request, context)
        let body = try await json(request, context)
        let objects: [EmbeddedTables.Row]
        switch body {
        case .object(let fields): objects = [fields]
        case .array(let elements):
            objects = try elements.map { element throws(PostgRESTError) in
                guard case .object(let fields) = element else { throw PostgRESTError.invalidBody("Expected an array of objects") }
                return fields
            }
        default: throw PostgRESTError.invalidBody("Expected an object or an array of objects")
        }
        let preferences = request.preferences
        let resolution: EmbeddedTables.Resolution =
            switch preferences["resolution"] {
            case "merge-duplicates": .merge
            case "ignore-duplicates": .ignore
            default: .fail
            }
        let rows = try run { tables, now in
            try tables.insert(table, objects, conflictTarget: query.onConflict, resolution: resolution, now: now)
        }
        return try written(rows, status: .created, table: table, query: query, preferences: preferences)
    }

    /// `PATCH`: updates the rows that pass the filters; 204, or 200 with them on `return=representation`.
    @Sendable func update(_ request: Request, context: some RequestContext) async throws -> Response {
        let (table, query) = try await prepare(request, context)
        guard case .object(let values) = try await json(request, context) else {
            throw PostgRESTError.invalidBody("Expected an object")
        }
        let rows = try run { tables, _ in try tables.update(table, set: values, where: query.filter) }
        return try written(rows, status: .ok, table: table, query: query, preferences: request.preferences)
    }

    /// `DELETE`: deletes the rows that pass the filters; 204, or 200 with them on `return=representation`.
    @Sendable func delete(_ request: Request, context: some RequestContext) async throws -> Response {
        let (table, query) = try await prepare(request, context)
        let rows = try run { tables, _ in try tables.delete(table, where: query.filter) }
        return try written(rows, status: .ok, table: table, query: query, preferences: request.preferences)
    }

    // MARK: - Helpers

    /// Authorizes, checks the schema and parses the query string.
    private func prepare(_ request: Request, _ context: some RequestContext) async throws -> (String, PostgRESTQuery) {
        let role = try await request.authorizePostgREST(with: verifier)
        let table = try context.parameters.require("table")
        if table == "matchmaker_outbox" { try PostgRESTError.requireServiceRole(role, for: "table matchmaker_outbox") }
        switch request.profile {
        case "public":
            break
        case "pgmq_public":
            throw PostgRESTError(.unknownTable(table))
        default:
            throw PostgRESTError(
                status: .notAcceptable, code: "PGRST106", message: "Invalid schema: \(request.profile)",
                hint: "Only the following schemas are exposed: public, pgmq_public")
        }
        let parameters = request.uri.queryParameters.map { (key: String($0.key), value: String($0.value)) }
        do {
            return (table, try PostgRESTQuery(parameters))
        } catch {
            throw PostgRESTError(error)
        }
    }

    /// Runs one transaction over the tables, answering its errors in PostgREST's shape.
    private func run<T: Sendable>(_ body: (inout EmbeddedTables, Date) throws -> T) throws -> T {
        do {
            return try store.update(body)
        } catch let error as SQLError {
            throw PostgRESTError(error)
        }
    }

    private func json(_ request: Request, _ context: some RequestContext) async throws -> JSONValue {
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        guard let value = try? JSONValue(parsing: Data(body.readableBytesView)) else {
            throw PostgRESTError.invalidBody()
        }
        return value
    }

    /// Keeps the `select=` columns of each row; an unknown one is `42703`.
    private func project(_ rows: [EmbeddedTables.Row], table: String, query: PostgRESTQuery) throws -> [JSONValue] {
        guard let columns = query.select else { return rows.map(JSONValue.object) }
        let schema = try run { tables, _ in try tables.schema(table) }
        for column in columns where schema.column(column) == nil {
            throw PostgRESTError(.unknownColumn(column, table: table))
        }
        return rows.map { row in .object(row.filter { columns.contains($0.key) }) }
    }

    /// The answer to a write: the rows with `return=representation`, else an empty body (201 or 204).
    private func written(
        _ rows: [EmbeddedTables.Row], status: HTTPResponse.Status, table: String, query: PostgRESTQuery, preferences: [String: String]
    ) throws -> Response {
        if preferences["return"] == "representation" {
            return .json(try project(rows, table: table, query: query), status: status)
        }
        return Response(status: status == .created ? .created : .noContent)
    }
}
