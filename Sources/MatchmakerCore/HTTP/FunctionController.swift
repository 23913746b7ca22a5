import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Shared

/// `/functions/v1/stranger-matchmaker`: a call runs a pass, or shares the next one with the calls that arrive
/// while a pass runs (contract §6).
struct FunctionController: Sendable {
    static let path: RouterPath = "/functions/v1/stranger-matchmaker"

    /// The CORS headers of `@supabase/supabase-js/cors`.
    static let cors: HTTPFields = [
        .accessControlAllowOrigin: "*",
        .accessControlAllowHeaders: "authorization, x-client-info, apikey, content-type, x-retry-count",
        .accessControlAllowMethods: "GET, POST, PUT, PATCH, DELETE, OPTIONS",
    ]

    /// The answer to a pass that found the queue empty, encoded once: the common case under load.
    static let emptyQueueResponse = Response.json(PassReport().responseBody, headers: cors)

    /// The answer when `MATCH_MAX_WAITING_CALLERS` callers already wait for the next pass (contract §6).
    static let busyResponse: Response = {
        var headers = cors
        headers[.retryAfter] = "1"
        return .json(
            [
                "success": false, "error": "Matchmaker busy",
                "message": "Too many calls are waiting for the next pass; retry after the Retry-After seconds",
            ] as JSONValue, status: .serviceUnavailable, headers: headers)
    }()

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
        if body.readableBytes > 0, request.headers.value(of: .contentType)?.lowercased().hasPrefix("application/json") == true,
            (try? JSONValue(parsing: body.readableBytesView)) == nil
        {
            throw GatewayError(status: .badRequest, message: "Request body is not valid JSON", headers: Self.cors)
        }
        do {
            let report = try await runner.run()
            if report.totalUsers == 0 { return Self.emptyQueueResponse }
            return .json(report.responseBody, headers: Self.cors)
        } catch let busy as PassRunnerBusy {
            context.logger.debug("Function call refused: busy", metadata: ["error": "\(busy)"])
            return Self.busyResponse
        } catch let error as PassError {
            return .json(PassReport.failureBody(message: error.message), status: .internalServerError, headers: Self.cors)
        } catch {
            context.logger.error("Pass failed unexpectedly", metadata: ["error": "\(error)"])
            return .json(PassReport.failureBody(message: "Unknown error occurred"), status: .internalServerError, headers: Self.cors)
        }
    }
}
