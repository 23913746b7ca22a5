import Foundation
import JWTKit
import Logging

/// The public keys of a JWKS document (`<SUPABASE_URL>/auth/v1/.well-known/jwks.json`), by `kid`.
///
/// Keys are loaded by `refresh()` (the `JWKSRefresher` service calls it at start and then now and
/// then) and, when a token names a `kid` the cache does not know, once more on demand: at most one
/// such on-demand fetch per `minimumRefreshInterval` (default 30 s), so that tokens with made-up `kid`s
/// cannot make the server hammer the project. Concurrent lookups share one fetch.
public actor JWKSCache {
    /// Fetches the JWKS document's text.
    public typealias Fetch = @Sendable () async throws -> String

    /// One public key: its algorithm (`ES256`, `RS256`, …) and a collection that verifies with it.
    struct Key: Sendable {
        var algorithm: String
        var keys: JWTKeyCollection
    }

    /// The algorithms a JWKS key may have; HMAC (`oct`) keys are never taken from a JWKS.
    static let asymmetricAlgorithms: Set<String> = ["ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]

    private let fetch: Fetch
    private let minimumRefreshInterval: Duration
    private let time: Timekeeper
    private let logger: Logger
    private var keys: [String: Key] = [:]
    private var lastOnDemand: Date?
    private var inFlight: Task<Void, any Error>?
    /// How many fetches were started (for logs and tests).
    public private(set) var fetches = 0

    /// A cache that fetches with `fetch`.
    public init(
        minimumRefreshInterval: Duration = .seconds(30), time: Timekeeper = .system, logger: Logger,
        fetch: @escaping Fetch
    ) {
        self.fetch = fetch
        self.minimumRefreshInterval = minimumRefreshInterval
        self.time = time
        self.logger = logger
    }

    /// The `kid`s currently known.
    public var keyIDs: [String] { keys.keys.sorted() }

    /// Fetches the document now (joining a fetch already under way) and replaces the keys with its keys.
    /// - Throws: the fetch's error, or `InvalidJWKS` when the document lists keys and none is usable; the old
    ///   keys stay. An empty document (a project on its legacy secret) loads as no keys.
    public func refresh() async throws {
        if let inFlight { return try await inFlight.value }
        fetches += 1
        let task = Task { try await self.load(try await self.fetch()) }
        inFlight = task
        defer { inFlight = nil }
        try await task.value
    }

    /// Replaces the keys with those of `json`.
    func load(_ json: String) async throws {
        let document = try JSONDecoder().decode(JWKS.self, from: Data(json.utf8))
        guard !document.keys.isEmpty else {
            // A project that signs only with its legacy HS256 secret publishes an empty set: nothing to fetch again.
            logger.info("JWKS holds no keys: the project signs tokens with its legacy secret (SUPABASE_JWT_SECRET)")
            keys = [:]
            return
        }
        var loaded: [String: Key] = [:]
        for var jwk in document.keys {
            guard let kid = jwk.keyIdentifier?.string, let algorithm = Self.algorithm(of: jwk) else {
                logger.warning(
                    "JWKS key skipped: no kid or no asymmetric algorithm", metadata: ["kid": "\(jwk.keyIdentifier?.string ?? "-")"])
                continue
            }
            jwk.algorithm = JWK.Algorithm(rawValue: algorithm)
            do {
                loaded[kid] = Key(algorithm: algorithm, keys: try await JWTKeyCollection().add(jwk: jwk))
            } catch {
                logger.warning("JWKS key skipped", metadata: ["kid": "\(kid)", "error": "\(error)"])
            }
        }
        guard !loaded.isEmpty else { throw InvalidJWKS(reason: "no usable key among \(document.keys.count)") }
        keys = loaded
    }

    /// The key named `kid`; an unknown `kid` refreshes the keys first (or waits for a fetch under way)
    /// unless an on-demand fetch started less than `minimumRefreshInterval` ago.
    func key(for kid: String) async -> Key? {
        if let key = keys[kid] { return key }
        if inFlight == nil {
            if let lastOnDemand, time.now().timeIntervalSince(lastOnDemand) < minimumRefreshInterval.seconds { return nil }
            lastOnDemand = time.now()
        }
        do {
            try await refresh()
        } catch {
            logger.error("JWKS refresh for an unknown kid failed", metadata: ["kid": "\(kid)", "error": "\(error)"])
        }
        return keys[kid]
    }

    /// The key's algorithm: its `alg`, else what its type implies (`EC` P-256 → `ES256`, `RSA` → `RS256`).
    static func algorithm(of jwk: JWK) -> String? {
        let algorithm: String? =
            if let alg = jwk.algorithm?.rawValue {
                alg
            } else if jwk.keyType == .ecdsa {
                switch jwk.curve?.rawValue {
                case "P-256": "ES256"
                case "P-384": "ES384"
                case "P-521": "ES512"
                default: nil
                }
            } else if jwk.keyType == .rsa {
                "RS256"
            } else {
                nil
            }
        return algorithm.flatMap { asymmetricAlgorithms.contains($0) ? $0 : nil }
    }
}

/// A JWKS document that could not be used.
public struct InvalidJWKS: Error, Sendable, CustomStringConvertible {
    /// Why.
    public var reason: String

    public var description: String { "invalid JWKS: \(reason)" }
}
