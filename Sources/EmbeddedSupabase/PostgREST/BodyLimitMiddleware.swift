import HTTPTypes
import Hummingbird
import NIOCore
import Shared

/// Answers a body over the context's limit with 413 before a handler reads it, in the error shape of
/// the service the routes imitate.
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Whose error body a refusal has.
    enum Shape {
        /// PostgREST: `{"code":"PGRST413","message",…}`.
        case postgREST
        /// Realtime's REST API: `{"code":413,"message"}`.
        case realtime
    }

    let shape: Shape

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > context.maxUploadSize {
            return tooLarge(limit: context.maxUploadSize)
        }
        do {
            return try await next(request, context)
        } catch is NIOTooManyBytesError {
            return tooLarge(limit: context.maxUploadSize)
        }
    }

    private func tooLarge(limit: Int) -> Response {
        let message = "Request body is larger than \(limit) bytes"
        return switch shape {
        case .postgREST:
            .json(["code": "PGRST413", "message": .string(message), "details": nil, "hint": nil] as JSONValue, status: .contentTooLarge)
        case .realtime:
            .json(["code": 413, "message": .string(message)] as JSONValue, status: .contentTooLarge)
        }
    }
}
