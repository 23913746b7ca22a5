import Foundation
import JWTKit

/// The claims Supabase puts in project JWTs that we check: `role`, `exp`, and `nbf`/`iat` when present.
public struct SupabaseClaims: JWTPayload, Equatable {
    /// `anon`, `authenticated`, `service_role`, …
    public var role: String?
    /// Expiry; required, as Supabase Realtime requires it.
    public var exp: ExpirationClaim
    /// The user id, for user tokens.
    public var sub: SubjectClaim?
    /// Not valid before this time.
    public var nbf: NotBeforeClaim?
    /// Issued at this time.
    public var iat: IssuedAtClaim?

    /// Creates claims.
    public init(role: String?, exp: Date, sub: String? = nil, nbf: Date? = nil, iat: Date? = nil) {
        self.role = role
        self.exp = ExpirationClaim(value: exp)
        self.sub = sub.map(SubjectClaim.init(value:))
        self.nbf = nbf.map(NotBeforeClaim.init(value:))
        self.iat = iat.map(IssuedAtClaim.init(value:))
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Verifies tokens like Supabase: `verify_jwt = true` for the function endpoint, PostgREST's and
/// Realtime's checks for the embedded backend.
///
/// Keys come from the project's HS256 secret (`SUPABASE_JWT_SECRET`) and/or a JWKS document
/// (`SUPABASE_JWKS_URL`, ES256/RS256/…), side by side; the new API keys (`sb_secret_…`,
/// `sb_publishable_…`) the project configured stand for their roles where the gateway accepts them.
///
/// Strict, where jwt-kit 5 alone is lenient (it verifies with the default key when the `kid` is
/// unknown, and never compares the header's `alg` with the key's):
/// - the header's `alg` picks the key: `HS256` the secret, an asymmetric algorithm the JWKS key named
///   by `kid`, whose own algorithm must be the same; any other `alg` is refused;
/// - a `kid` the JWKS does not have is refused, after one rate-limited refresh (`JWKSCache`);
/// - `exp` must not have passed; `nbf` and `iat` must not be more than `leeway` (30 s) in the future.
public struct JWTVerifier: Sendable {
    /// Clock skew allowed for `nbf` and `iat`.
    public static let leeway: TimeInterval = 30

    private let hmac: JWTKeyCollection?
    private let jwks: JWKSCache?
    private let apiKeys: [String: String]
    private let now: @Sendable () -> Date

    /// A verifier with any of: an HS256 secret, a JWKS cache, and the project's own API keys. A new key
    /// stands for the role `SupabaseKeyKind` gives it; a legacy JWT key given here is trusted as itself (it is
    /// our own configuration) for the role its payload names, so the project's legacy service-role key keeps
    /// working (cron.sql sends it as the bearer) when the project's JWKS holds no HS256 key and no secret is set.
    public init(secret: String?, jwks: JWKSCache? = nil, apiKeys: [String] = [], time: Timekeeper = .system) async {
        hmac = if let secret { await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256) } else { nil }
        self.jwks = jwks
        var roles: [String: String] = [:]
        for key in apiKeys {
            if let role = SupabaseKeyKind(key: key).role ?? Self.claimedRole(of: key) { roles[key] = role }
        }
        self.apiKeys = roles
        now = time.now
    }

    /// A verifier for an HS256 shared secret.
    public init(secret: String) async {
        await self.init(secret: secret, jwks: nil)
    }

    /// Verifies a JWT and returns its claims.
    /// - Throws: `InvalidJWT` for anything that is not a valid, current token signed by one of our keys.
    public func verify(token: String) async throws -> SupabaseClaims {
        let header = try Self.header(of: token)
        let claims: SupabaseClaims
        switch header.alg {
        case "HS256":
            guard let hmac else { throw InvalidJWT(reason: "HS256 token but no SUPABASE_JWT_SECRET") }
            claims = try await checked { try await hmac.verify(token, as: SupabaseClaims.self) }
        case let alg? where JWKSCache.asymmetricAlgorithms.contains(alg):
            guard let jwks else { throw InvalidJWT(reason: "\(alg) token but no JWKS") }
            guard let kid = header.kid else { throw InvalidJWT(reason: "\(alg) token without kid") }
            guard let key = await jwks.key(for: kid) else { throw InvalidJWT(reason: "unknown kid \(kid)") }
            guard key.algorithm == alg else {
                throw InvalidJWT(reason: "alg \(alg) does not match key \(kid), which is \(key.algorithm)")
            }
            claims = try await checked { try await key.keys.verify(token, as: SupabaseClaims.self) }
        case let alg:
            throw InvalidJWT(reason: "unsupported alg \(alg ?? "(none)")")
        }
        let latest = now().addingTimeInterval(Self.leeway)
        if let nbf = claims.nbf, nbf.value > latest { throw InvalidJWT(reason: "nbf is in the future") }
        if let iat = claims.iat, iat.value > latest { throw InvalidJWT(reason: "iat is in the future") }
        return claims
    }

    /// Verifies the value of an `Authorization` header (`Bearer <JWT>`).
    public func verify(authorization: String?) async throws -> SupabaseClaims {
        guard let token = Self.bearer(authorization) else { throw InvalidJWT(reason: "missing bearer token") }
        return try await verify(token: token)
    }

    /// Authenticates a request as Supabase's gateway does, from its `Authorization` and `apikey` headers:
    /// - `Authorization: Bearer <JWT>` is verified; a new API key there counts only when it equals `apikey`;
    /// - without a bearer token, a configured new API key in `apikey` stands for its role (`sb_secret_…`
    ///   → `service_role`, `sb_publishable_…` → `anon`), and, when `jwtInAPIKey` (PostgREST, Realtime),
    ///   a JWT in `apikey` is verified.
    public func authorize(authorization: String?, apiKey: String?, jwtInAPIKey: Bool) async throws -> SupabaseClaims {
        let apiKey = apiKey?.trimmingCharacters(in: .whitespaces)
        if let bearer = Self.bearer(authorization) {
            if SupabaseKeyKind(key: bearer) == .legacyJWT, let role = apiKeys[bearer] {
                return SupabaseClaims(role: role, exp: .distantFuture)
            }
            if SupabaseKeyKind(key: bearer) != .legacyJWT {
                guard bearer == apiKey, let role = apiKeys[bearer] else { throw InvalidJWT(reason: "API key as bearer token") }
                return SupabaseClaims(role: role, exp: .distantFuture)
            }
            return try await verify(token: bearer)
        }
        guard let apiKey, !apiKey.isEmpty else { throw InvalidJWT(reason: "missing bearer token and apikey") }
        if let role = apiKeys[apiKey] { return SupabaseClaims(role: role, exp: .distantFuture) }
        guard jwtInAPIKey, SupabaseKeyKind(key: apiKey) == .legacyJWT else { throw InvalidJWT(reason: "unknown apikey") }
        return try await verify(token: apiKey)
    }

    /// Signs claims with an HS256 secret: used by tests and by tools that mint service tokens.
    public static func sign(_ claims: SupabaseClaims, secret: String) async throws -> String {
        try await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256).sign(claims)
    }

    // MARK: - Helpers

    private func checked(_ verify: () async throws -> SupabaseClaims) async throws -> SupabaseClaims {
        do {
            return try await verify()
        } catch {
            throw InvalidJWT(reason: String(describing: error))
        }
    }

    private static func bearer(_ authorization: String?) -> String? {
        guard let authorization, authorization.lowercased().hasPrefix("bearer ") else { return nil }
        let token = authorization.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    /// The header's `alg` and `kid`.
    private static func header(of token: String) throws -> (alg: String?, kid: String?) {
        let header = try part(0, of: token, named: "header")
        return (header["alg"]?.stringValue, header["kid"]?.stringValue)
    }

    /// The `role` claim of a configured legacy key, read without verifying (the key is our own configuration).
    private static func claimedRole(of key: String) -> String? {
        (try? part(1, of: key, named: "payload"))?["role"]?.stringValue
    }

    /// Part `index` of a JWT (0 header, 1 payload), base64url-decoded and parsed.
    private static func part(_ index: Int, of token: String, named name: String) throws -> JSONValue {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw InvalidJWT(reason: "not a JWT") }
        var base64 = parts[index].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64) else { throw InvalidJWT(reason: "JWT \(name) is not base64url") }
        do {
            return try JSONValue(parsing: data)
        } catch {
            throw InvalidJWT(reason: "malformed JWT \(name): \(error)")
        }
    }
}

/// A token failed verification. The reason is for logs; callers see only "Invalid JWT".
public struct InvalidJWT: Error, Sendable, CustomStringConvertible {
    /// Why verification failed.
    public var reason: String

    /// An error for `reason`.
    public init(reason: String) { self.reason = reason }

    public var description: String { "invalid JWT: \(reason)" }
}
