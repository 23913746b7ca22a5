import Foundation
import HTTPTypes
import Hummingbird
import Shared

extension PostgRESTError {
    /// The response PostgREST gives for a PostgreSQL or PostgREST error: the status follows the code.
    init(_ error: SQLError) {
        let status: HTTPResponse.Status =
            switch error.code {
            case "PGRST202", "PGRST205", "42P01", "42883": .notFound
            case "23505", "23503": .conflict
            case "PGRST106", "PGRST116": .notAcceptable
            case "42501": .forbidden
            default: .badRequest
            }
        self.init(status: status, code: error.code, message: error.message, details: error.details, hint: error.hint)
    }
}

extension Request {
    /// Verifies `Authorization` (or, without it, `apikey`) when keys are configured, as PostgREST does.
    func authorizePostgREST(with verifier: JWTVerifier?) async throws {
        guard let verifier else { return }
        let token = headers[.authorization] ?? headers[HTTPField.Name("apikey")!].map { "Bearer \($0)" }
        guard (try? await verifier.verify(authorization: token)) != nil else { throw PostgRESTError.invalidJWT }
    }

    /// The schema of the request: `Accept-Profile` on GET and HEAD, `Content-Profile` otherwise; `public` by default.
    var profile: String {
        let name = method == .get || method == .head ? "Accept-Profile" : "Content-Profile"
        return headers[HTTPField.Name(name)!] ?? "public"
    }

    /// The `Prefer` preferences, merged from every `Prefer` header (`return` → `representation`, …).
    var preferences: [String: String] {
        var preferences: [String: String] = [:]
        for field in headers[values: HTTPField.Name("Prefer")!] {
            for item in field.split(separator: ",") {
                let pair = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if pair.count == 2 { preferences[pair[0]] = pair[1] }
            }
        }
        return preferences
    }
}
