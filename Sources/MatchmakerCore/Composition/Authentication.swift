import Foundation
import Logging
import ServiceLifecycle
import Shared

/// How `serve` authenticates callers: the verifier of the function endpoint and of the embedded slice,
/// and the services that keep its JWKS loaded (an HTTP client and a `JWKSRefresher`).
public struct Authentication: Sendable {
    /// `nil` when nothing is configured to check against: every caller is accepted.
    public var verifier: JWTVerifier?
    /// The JWKS keys, when `SUPABASE_JWKS_URL` (or its default) is set.
    public var jwks: JWKSCache?
    /// The services to run beside the server.
    public var services: [any Service]

    /// Builds the verifier from `SUPABASE_JWT_SECRET`, `SUPABASE_JWKS_URL` and the new API keys.
    ///
    /// The JWKS document is fetched with the project's service key when it lives under `SUPABASE_URL`
    /// (Supabase's gateway wants an `apikey`), with no key elsewhere.
    public static func make(config: MatchmakerConfig, time: Timekeeper = .system, logger: Logger) async -> Authentication {
        guard config.requiresAuthentication else { return Authentication(verifier: nil, jwks: nil, services: []) }
        var services: [any Service] = []
        var jwks: JWKSCache?
        if let url = config.jwksURL {
            let client = AsyncHTTPTransport.makeClient(connectionsPerHost: 1, connectTimeout: config.pass.attemptTimeout ?? .seconds(8))
            services.append(HTTPClientService(client: client))
            let sameProject = config.supabaseURL.map { Self.sameOrigin(url, $0) } ?? false
            let transport = AsyncHTTPTransport(
                client: client, baseURL: url, apiKey: sameProject ? config.serviceRoleKey ?? "" : "", timeout: .seconds(15),
                logger: logger)
            let cache = JWKSCache(time: time, logger: logger) {
                let response = try await transport.send(UpstreamRequest(method: "GET", path: ""))
                guard response.status == 200 else {
                    throw UpstreamError(kind: .status(response.status), message: "GET JWKS: \(response.body.prefix(200))")
                }
                return response.body
            }
            services.append(JWKSRefresher(cache: cache, url: url, time: time, logger: logger))
            jwks = cache
        }
        let verifier = await JWTVerifier(secret: config.jwtSecret, jwks: jwks, apiKeys: config.projectKeys, time: time)
        return Authentication(verifier: verifier, jwks: jwks, services: services)
    }

    /// Whether two URLs have the same scheme, host and port: the service key goes only to the project itself.
    public static func sameOrigin(_ a: String, _ b: String) -> Bool {
        guard let a = URLComponents(string: a), let b = URLComponents(string: b), a.host != nil else { return false }
        return a.scheme?.lowercased() == b.scheme?.lowercased() && a.host?.lowercased() == b.host?.lowercased() && a.port == b.port
    }
}
