import Foundation

/// What kind of Supabase API key a string is, told by its prefix.
///
/// Projects have two generations of keys: the legacy `anon` and `service_role` keys are JWTs, the new
/// publishable (`sb_publishable_…`, like anon) and secret (`sb_secret_…`, like service_role) keys are
/// opaque strings that only the Supabase gateway understands.
public enum SupabaseKeyKind: Sendable, Hashable {
    /// `sb_publishable_…`: the new low-privilege key.
    case publishable
    /// `sb_secret_…`: the new elevated key.
    case secret
    /// Anything else: a legacy JWT key (or a JWT minted for a role).
    case legacyJWT

    /// The kind of `key`, by prefix.
    public init(key: String) {
        if key.hasPrefix("sb_publishable_") {
            self = .publishable
        } else if key.hasPrefix("sb_secret_") {
            self = .secret
        } else {
            self = .legacyJWT
        }
    }

    /// The database role the gateway gives a new key (`anon`, `service_role`); `nil` for a JWT, whose
    /// role is its `role` claim.
    public var role: String? {
        switch self {
        case .publishable: "anon"
        case .secret: "service_role"
        case .legacyJWT: nil
        }
    }

    /// The headers that authenticate a request with `key`: a new key goes in `apikey` only (it is not a
    /// JWT, and must never be sent as `Authorization: Bearer`); a legacy JWT key goes in `apikey` and as
    /// the bearer token, as supabase-js sends it. No key, no headers.
    public static func authHeaders(for key: String) -> [String: String] {
        guard !key.isEmpty else { return [:] }
        switch SupabaseKeyKind(key: key) {
        case .publishable, .secret: return ["apikey": key]
        case .legacyJWT: return ["apikey": key, "Authorization": "Bearer \(key)"]
        }
    }

    /// The `access_token` a Realtime client joins with when it has no token of its own: a legacy JWT key
    /// itself, nothing for a new key (not a JWT; the gateway authenticates the socket by its `apikey`).
    public static func realtimeAccessToken(for key: String) -> String? {
        key.isEmpty || SupabaseKeyKind(key: key) != .legacyJWT ? nil : key
    }
}
