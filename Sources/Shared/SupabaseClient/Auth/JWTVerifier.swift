import Foundation
import JWTKit

/// The claims Supabase puts in every project JWT that we check: `role` and `exp`.
public struct SupabaseClaims: JWTPayload, Equatable {
    /// `anon`, `authenticated`, `service_role`, …
    public var role: String?
    /// Expiry; required, as Supabase Realtime requires it.
    public var exp: ExpirationClaim
    /// The user id, for user tokens.
    public var sub: SubjectClaim?

    /// Creates claims.
    public init(role: String?, exp: Date, sub: String? = nil) {
        self.role = role
        self.exp = ExpirationClaim(value: exp)
        self.sub = sub.map(SubjectClaim.init(value:))
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Verifies `Authorization: Bearer <JWT>` like Supabase's `verify_jwt = true`.
///
/// Keys come from the project's HS256 secret (`SUPABASE_JWT_SECRET`) and/or a JWKS document (ES256/RS256).
public struct JWTVerifier: Sendable {
    private let keys: JWTKeyCollection

    /// A verifier for an HS256 shared secret.
    public init(secret: String) async {
        keys = await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
    }

    /// A verifier for the keys of a JWKS document, optionally also accepting an HS256 secret.
    public init(jwksJSON: String, secret: String? = nil) async throws {
        let keys = try await JWTKeyCollection().add(jwksJSON: jwksJSON)
        if let secret { await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256) }
        self.keys = keys
    }

    /// Verifies a bearer token and returns its claims.
    /// - Throws: `InvalidJWT` for anything that is not a valid, unexpired token signed by one of our keys.
    public func verify(token: String) async throws -> SupabaseClaims {
        do {
            return try await keys.verify(token, as: SupabaseClaims.self)
        } catch {
            throw InvalidJWT(reason: String(describing: error))
        }
    }

    /// Verifies the value of an `Authorization` header (`Bearer <JWT>`).
    public func verify(authorization: String?) async throws -> SupabaseClaims {
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else {
            throw InvalidJWT(reason: "missing bearer token")
        }
        return try await verify(token: String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces))
    }

    /// Signs claims with an HS256 secret: used by tests and by tools that mint service tokens.
    public static func sign(_ claims: SupabaseClaims, secret: String) async throws -> String {
        try await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256).sign(claims)
    }
}

/// A token failed verification. The reason is for logs; callers see only "Invalid JWT".
public struct InvalidJWT: Error, Sendable, CustomStringConvertible {
    /// Why verification failed.
    public var reason: String

    public var description: String { "invalid JWT: \(reason)" }
}
