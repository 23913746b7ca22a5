import EmbeddedSupabase
import Foundation
import Hummingbird
import HummingbirdTesting
import MatchmakerCore
import Shared
import Testing

/// `serve` as `main` builds it (`buildServe`), on `backend` and a free port, with the in-process bots
/// off and no scheduled pass unless `configure` sets `matchInterval`; `body` gets the HTTP test client.
public func withLiveHTTP<T: Sendable>(
    backend: EmbeddedBackend = EmbeddedBackend(), configure: (inout MatchmakerConfig) -> Void = { _ in },
    _ body: @escaping @Sendable (any TestClientProtocol, EmbeddedBackend) async throws -> T
) async throws -> T {
    var config = MatchmakerConfig()
    config.port = 0
    config.matchInterval = .seconds(3600)
    configure(&config)
    var bots = BotConfig()
    bots.enabled = false
    let server = await buildServe(
        config: config, bots: bots, backend: .embedded(backend), exporter: PrometheusExporter(), logger: testLogger)
    return try await server.application.test(.live) { client in
        try await body(client, backend)
    }
}

/// Like `withLiveHTTP`, with the port for clients of our own (Realtime, PostgREST).
public func withLiveServer<T: Sendable>(
    backend: EmbeddedBackend = EmbeddedBackend(), configure: (inout MatchmakerConfig) -> Void = { _ in },
    _ body: @escaping @Sendable (Int, EmbeddedBackend) async throws -> T
) async throws -> T {
    try await withLiveHTTP(backend: backend, configure: configure) { http, backend in
        try await body(try #require(http.port), backend)
    }
}
