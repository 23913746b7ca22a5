import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Shared

extension Response {
    /// A JSON response with stable (sorted) keys.
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var headers = headers
        headers[.contentType] = "application/json"
        let data = (try? JSONCoding.encoder.encode(value)) ?? Data("null".utf8)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// An error answered as `{"code": <status>, "message": "..."}`, the shape of Supabase's gateway errors.
public struct GatewayError: HTTPResponseError, Sendable {
    /// The HTTP status.
    public var status: HTTPResponse.Status
    /// The caller-facing message.
    public var message: String
    /// Extra headers (CORS on function routes).
    public var headers: HTTPFields = [:]

    /// The contract's 401 for a missing, malformed, badly signed or expired token.
    public static let invalidJWT = GatewayError(status: .unauthorized, message: "Invalid JWT")

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        .json(["code": JSONValue.number(Double(status.code)), "message": .string(message)], status: status, headers: headers)
    }
}

/// An error answered in PostgREST's shape: `{"code","message","details","hint"}`.
public struct PostgRESTError: HTTPResponseError, Sendable {
    /// The HTTP status PostgREST would use.
    public var status: HTTPResponse.Status
    /// PostgREST (`PGRSTxxx`) or PostgreSQL (SQLSTATE) code.
    public var code: String
    /// The message.
    public var message: String
    /// Details, or null.
    public var details: String?
    /// A hint, or null.
    public var hint: String?

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body: JSONValue = [
            "code": .string(code), "message": .string(message),
            "details": details.map(JSONValue.string) ?? .null, "hint": hint.map(JSONValue.string) ?? .null,
        ]
        return .json(body, status: status)
    }

    /// `PGRST102`: the body is not valid JSON.
    static func invalidBody(_ detail: String? = nil) -> PostgRESTError {
        PostgRESTError(status: .badRequest, code: "PGRST102", message: "Empty or invalid json", details: detail)
    }

    /// `PGRST301`: the JWT could not be verified.
    static let invalidJWT = PostgRESTError(status: .unauthorized, code: "PGRST301", message: "JWT could not be verified")
}
