import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Shared

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
        .json(["code": JSONValue.number(JSONNumber(status.code)), "message": .string(message)], status: status, headers: headers)
    }
}
