import HTTPTypes
import Hummingbird
import NIOCore

/// Answers oversized bodies with 413 before a handler reads them, and in the JSON shape of the route's family.
///
/// `/rest/v1` routes speak PostgREST's error shape; everything else speaks the gateway's `{code, message}`.
struct ErrorShapeMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > context.maxUploadSize {
            throw tooLarge(request, limit: context.maxUploadSize)
        }
        do {
            return try await next(request, context)
        } catch is NIOTooManyBytesError {
            throw tooLarge(request, limit: context.maxUploadSize)
        }
    }

    private func tooLarge(_ request: Request, limit: Int) -> any Error {
        let message = "Request body is larger than \(limit) bytes"
        if request.uri.path.hasPrefix("/rest/v1") {
            return PostgRESTError(status: .contentTooLarge, code: "PGRST413", message: message)
        }
        return GatewayError(status: .contentTooLarge, message: message)
    }
}
