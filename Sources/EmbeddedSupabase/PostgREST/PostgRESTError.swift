import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Shared

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
