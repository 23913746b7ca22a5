import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Shared

/// The embedded backend's `POST /rest/v1/rpc/<fn>`: Supabase's `pgmq_public` wrappers and, in
/// `public`, the room RPCs of `deploy/supabase/migrations/` (`RPCController+Rooms.swift`).
///
/// It answers as PostgREST does: arguments by name, `Content-Profile` picks the schema, unknown
/// functions or argument names are 404 `PGRST202`, bad values are PostgreSQL errors with their SQLSTATE.
struct RPCController: Sendable {
    let pgmq: EmbeddedPgmq
    /// The tables and room RPCs of schema `public`.
    let store: EmbeddedStore
    /// Verifies `Authorization`/`apikey` when keys are configured; `nil` accepts every caller.
    let verifier: JWTVerifier?

    /// The wrappers' parameters: name → (type, required).
    static let functions: [String: [(name: String, type: ParameterType, required: Bool)]] = [
        "send": [("queue_name", .text, true), ("message", .jsonb, true), ("sleep_seconds", .integer, false)],
        "send_batch": [("queue_name", .text, true), ("messages", .jsonbArray, true), ("sleep_seconds", .integer, false)],
        "read": [("queue_name", .text, true), ("sleep_seconds", .integer, true), ("n", .integer, true)],
        "pop": [("queue_name", .text, true)],
        "archive": [("queue_name", .text, true), ("message_id", .bigint, true)],
        "delete": [("queue_name", .text, true), ("message_id", .bigint, true)],
    ]

    enum ParameterType {
        case text, integer, bigint, jsonb, jsonbArray, bigintArray, timestamptz
    }

    /// The parameters of `function` in `schema`, when it exists.
    static func parameters(schema: String, function: String) -> [(name: String, type: ParameterType, required: Bool)]? {
        schema == "pgmq_public" ? functions[function] : publicFunctions[function]
    }

    func addRoutes<Context: RequestContext>(to router: some RouterMethods<Context>) {
        router.post("/rest/v1/rpc/:function", use: call)
    }

    @Sendable func call(_ request: Request, context: some RequestContext) async throws -> Response {
        let role = try await request.authorizePostgREST(with: verifier)
        let schema = request.headers[HTTPField.Name("Content-Profile")!] ?? "public"
        guard ["public", "pgmq_public"].contains(schema) else {
            throw PostgRESTError(
                status: .notAcceptable, code: "PGRST106", message: "Invalid schema: \(schema)",
                hint: "Only the following schemas are exposed: public, pgmq_public"
            )
        }
        let function = try context.parameters.require("function")
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let arguments: [String: JSONValue]
        if body.readableBytes == 0 {
            arguments = [:]
        } else {
            guard case .object(let fields)? = try? JSONValue(parsing: Data(body.readableBytesView)) else {
                throw PostgRESTError.invalidBody()
            }
            arguments = fields
        }
        guard let parameters = Self.parameters(schema: schema, function: function),
            Set(arguments.keys).isSubset(of: parameters.map(\.name)),
            parameters.allSatisfy({ !$0.required || arguments[$0.name] != nil })
        else {
            throw Self.notFound(schema: schema, function: function, arguments: arguments.keys.sorted())
        }
        // Supabase's pgmq_public wrappers are left as the project has them (anon may call them until the
        // opt-in hardening); our room RPCs are the service role's alone.
        if schema == "public" { try PostgRESTError.requireServiceRole(role, for: "function \(function)") }
        var values: [String: Argument] = [:]
        for parameter in parameters {
            guard let value = arguments[parameter.name] else { continue }
            values[parameter.name] = try Self.coerce(value, to: parameter.type)
        }
        do {
            return .json(schema == "public" ? try performPublic(function, values) : try perform(function, values))
        } catch let error as SQLError {
            throw PostgRESTError(error)
        } catch let error as PgmqError {
            let status: HTTPResponse.Status =
                switch error.code {
                case "42P01": .notFound
                case "22023", "22P05": .badRequest
                case "53400": .serviceUnavailable  // PostgREST answers SQLSTATE class 53 with 503
                default: .internalServerError
                }
            throw PostgRESTError(status: status, code: error.code, message: error.message, details: error.details)
        } catch let fault as InjectedFault {
            throw PostgRESTError(status: .init(code: fault.status), code: "XX000", message: "\(fault)")
        }
    }

    private func perform(_ function: String, _ args: [String: Argument]) throws -> JSONValue {
        let queue = args["queue_name"]!.text
        switch function {
        case "send":
            return [.number(JSONNumber(try pgmq.send(queue, message: args["message"]!.json, delay: args["sleep_seconds"]?.integer ?? 0)))]
        case "send_batch":
            let ids = try pgmq.sendBatch(queue, messages: args["messages"]!.jsonArray, delay: args["sleep_seconds"]?.integer ?? 0)
            return .array(ids.map { .number(JSONNumber($0)) })
        case "read":
            let rows = try pgmq.read(queue, visibilityTimeout: args["sleep_seconds"]!.integer, count: max(args["n"]!.integer, 0))
            return .array(rows.map(\.recordJSON))
        case "pop":
            return .array(try pgmq.pop(queue).map(\.recordJSON))
        case "archive":
            return .bool(try pgmq.archive(queue, msgID: Int64(args["message_id"]!.integer)))
        default:
            return .bool(try pgmq.delete(queue, msgID: Int64(args["message_id"]!.integer)))
        }
    }

    // MARK: - Arguments

    enum Argument {
        case text(String), integer(Int), json(JSONValue), jsonArray([JSONValue]), integers([Int64]), date(Date)

        var text: String { if case .text(let value) = self { value } else { "" } }
        var integer: Int { if case .integer(let value) = self { value } else { 0 } }
        var json: JSONValue { if case .json(let value) = self { value } else { .null } }
        var jsonArray: [JSONValue] { if case .jsonArray(let value) = self { value } else { [] } }
        var integers: [Int64] { if case .integers(let value) = self { value } else { [] } }
        var date: Date? { if case .date(let value) = self { value } else { nil } }
    }

    /// Converts a JSON argument the way PostgreSQL casts PostgREST's text parameters.
    static func coerce(_ value: JSONValue, to type: ParameterType) throws -> Argument {
        switch (type, value) {
        case (.jsonb, _):
            return .json(value)
        case (.jsonbArray, .array(let elements)):
            return .jsonArray(elements)
        case (.jsonbArray, _):
            throw PostgRESTError(status: .badRequest, code: "22P02", message: "malformed array literal: \"\(render(value))\"")
        case (_, .null):
            throw PostgRESTError(status: .badRequest, code: "22004", message: "null value not allowed for this argument")
        case (.bigintArray, .array(let elements)):
            var ids: [Int64] = []
            for element in elements {
                guard case .integer(let id) = try coerce(element, to: .bigint) else { continue }
                ids.append(Int64(id))
            }
            return .integers(ids)
        case (.bigintArray, _):
            throw PostgRESTError(status: .badRequest, code: "22P02", message: "malformed array literal: \"\(render(value))\"")
        case (.timestamptz, _):
            guard let date = Timestamp.parse(render(value)) else {
                throw PostgRESTError(
                    status: .badRequest, code: "22007",
                    message: "invalid input syntax for type timestamp with time zone: \"\(render(value))\"")
            }
            return .date(date)
        case (.text, .string(let text)):
            return .text(text)
        case (.text, _):
            return .text(render(value))
        case (.integer, _), (.bigint, _):
            // Exact to the last bit: a bigint is an Int64, never a Double.
            let range = type == .integer ? Int64(Int32.min)...Int64(Int32.max) : Int64.min...Int64.max
            let name = type == .integer ? "integer" : "bigint"
            let whole: JSONNumber? =
                switch value {
                case .number(let number): number
                case .string(let text):
                    JSONNumber(literal: text.trimmingCharacters(in: .whitespaces)).flatMap { $0.isIntegerLiteral ? $0 : nil }
                default: nil
                }
            guard let whole, whole.isWholeNumber else {
                throw PostgRESTError(
                    status: .badRequest, code: "22P02", message: "invalid input syntax for type \(name): \"\(render(value))\"")
            }
            guard let number = whole.int64Value, range.contains(number) else {
                throw PostgRESTError(
                    status: .badRequest, code: "22003", message: "value \"\(render(value))\" is out of range for type \(name)")
            }
            return .integer(Int(number))
        }
    }

    private static func render(_ value: JSONValue) -> String {
        if case .string(let text) = value { return text }
        return value.jsonText
    }

    static func notFound(schema: String, function: String, arguments: [String]) -> PostgRESTError {
        let list = arguments.joined(separator: ", ")
        var hint: String?
        if let parameters = parameters(schema: schema, function: function) {
            hint =
                "Perhaps you meant to call the function \(schema).\(function)(\(parameters.map(\.name).sorted().joined(separator: ", ")))"
        }
        return PostgRESTError(
            status: .notFound, code: "PGRST202",
            message: "Could not find the function \(schema).\(function)(\(list)) in the schema cache",
            details:
                "Searched for the function \(schema).\(function) with parameters \(list) or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.",
            hint: hint
        )
    }
}

extension QueueRow {
    /// pgmq's `message_record` as PostgREST returns it, built directly: a leased or popped message is
    /// never lost to an encoding failure after it left the queue.
    var recordJSON: JSONValue {
        [
            "msg_id": .number(JSONNumber(msgID)), "read_ct": .number(JSONNumber(readCount)),
            "enqueued_at": .string(Timestamp.format(enqueuedAt)), "vt": .string(Timestamp.format(visibleAt)),
            "message": message, "headers": headers ?? .null,
        ]
    }
}
