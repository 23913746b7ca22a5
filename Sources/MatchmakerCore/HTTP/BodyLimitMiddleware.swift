import HTTPTypes
import Hummingbird
import NIOCore

/// Answers a function call whose body is over the context's limit with the gateway's 413
/// (`{"code":413,"message"}`) before the handler reads it.
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let refusal = GatewayError(status: .contentTooLarge, message: "Request body is larger than \(context.maxUploadSize) bytes")
        if let length = request.headers[.contentLength].flatMap(Int.init), length > context.maxUploadSize { throw refusal }
        do {
            return try await next(request, context)
        } catch is NIOTooManyBytesError {
            throw refusal
        }
    }
}
