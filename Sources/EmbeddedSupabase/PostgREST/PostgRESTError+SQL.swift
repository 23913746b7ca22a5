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

extension PostgRESTError {
    /// Refuses `role` unless it is `service_role`, as the grants of `deploy/supabase/migrations/` do on our
    /// RPCs and `matchmaker_outbox` (docs/contract.md §6a): `42501`, which PostgREST answers 401 for `anon`
    /// and 403 for any other role. A `nil` role (no keys configured) is let through.
    static func requireServiceRole(_ role: String?, for object: String) throws(PostgRESTError) {
        guard let role, role != "service_role" else { return }
        throw PostgRESTError(
            status: role == "anon" ? .unauthorized : .forbidden, code: "42501", message: "permission denied for \(object)")
    }
}

extension Request {
    /// Verifies `Authorization` (or, without it, `apikey`) when keys are configured, as PostgREST behind
    /// the gateway does (a configured `sb_secret_…`/`sb_publishable_…` key in `apikey` is its role),
    /// and returns the database role the request runs as: the token's `role` claim, `anon` without one
    /// (PostgREST's anonymous role). `nil` when no keys are configured: every caller is let through.
    @discardableResult
    func authorizePostgREST(with verifier: JWTVerifier?) async throws -> String? {
        guard let verifier else { return nil }
        do {
            let claims = try await verifier.authorize(
                authorization: headers[.authorization], apiKey: headers.first { $0.name.canonicalName == "apikey" }?.value,
                jwtInAPIKey: true)
            return claims.role ?? "anon"
        } catch {
            throw PostgRESTError.invalidJWT
        }
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
