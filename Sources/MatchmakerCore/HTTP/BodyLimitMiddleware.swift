import HTTPTypes
import Hummingbird
import NIOCore

/// Answers a function call whose body is over the context's limit with the gateway's 413
/// (`{"code":413,"message"}`) before the handler reads it.
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The refusal is built only when it is thrown: this runs on every function call.
        if let length = request.headers.value(of: .contentLength).flatMap(Int.init), length > context.maxUploadSize {
            throw Self.refusal(limit: context.maxUploadSize)
        }
        do {
            return try await next(request, context)
        } catch is NIOTooManyBytesError {
            throw Self.refusal(limit: context.maxUploadSize)
        }
    }

    private static func refusal(limit: Int) -> GatewayError {
        GatewayError(status: .contentTooLarge, message: "Request body is larger than \(limit) bytes")
    }
}
