import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Shared

/// `/functions/v1/stranger-matchmaker`: one call, one pass (contract §6).
struct FunctionController: Sendable {
    static let path: RouterPath = "/functions/v1/stranger-matchmaker"

    /// The CORS headers of `@supabase/supabase-js/cors`.
    static let cors: HTTPFields = [
        .accessControlAllowOrigin: "*",
        .accessControlAllowHeaders: "authorization, x-client-info, apikey, content-type, x-retry-count",
        .accessControlAllowMethods: "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    ]

    let runner: PassRunner
    /// `nil` when no JWT secret or JWKS is configured: the endpoint is then open (local use only).
    let verifier: JWTVerifier?

    func addRoutes(to router: Router<AppRequestContext>) {
        let function = router.group().add(middleware: BodyLimitMiddleware<AppRequestContext>())
        for method in [HTTPRequest.Method.get, .post, .put, .patch, .delete] {
            function.on(Self.path, method: method, use: invoke)
        }
        function.on(Self.path, method: .options) { _, _ in
            Response(status: .ok, headers: Self.cors, body: .init(byteBuffer: ByteBuffer(string: "ok")))
        }
    }

    @Sendable func invoke(_ request: Request, context: AppRequestContext) async throws -> Response {
        if let verifier {
            do {
                _ = try await verifier.authorize(
                    authorization: request.headers[.authorization],
                    apiKey: request.headers.first { $0.name.canonicalName == "apikey" }?.value,
                    jwtInAPIKey: false)
            } catch {
                context.logger.debug("Function call refused", metadata: ["error": "\(error)"])
                var refusal = GatewayError.invalidJWT
                refusal.headers = Self.cors
                throw refusal
            }
        }
        // The original ignored the body; we still refuse one that claims to be JSON and is not.
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        if body.readableBytes > 0, request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true,
            (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView), options: [.fragmentsAllowed])) == nil
        {
            throw GatewayError(status: .badRequest, message: "Request body is not valid JSON", headers: Self.cors)
        }
        do {
            let report = try await runner.run()
            return .json(report.responseBody, headers: Self.cors)
        } catch let error as PassError {
            return .json(PassReport.failureBody(message: error.message), status: .internalServerError, headers: Self.cors)
        } catch {
            context.logger.error("Pass failed unexpectedly", metadata: ["error": "\(error)"])
            return .json(PassReport.failureBody(message: "Unknown error occurred"), status: .internalServerError, headers: Self.cors)
        }
    }
}
