import EmbeddedSupabase
import Foundation
import Hummingbird
import HummingbirdTesting
import MatchmakerCore
import Shared
import Testing

/// `serve` as `main` builds it (`buildServe`), on `backend` and a free port, with the in-process bots
/// off, no scheduled pass unless `configure` sets `matchInterval` and no event-driven pass unless it sets
/// `matchOnEvents`; `body` gets the HTTP test client.
public func withLiveHTTP<T: Sendable>(
    backend: EmbeddedBackend = EmbeddedBackend(), configure: (inout MatchmakerConfig) -> Void = { _ in },
    _ body: @escaping @Sendable (any TestClientProtocol, EmbeddedBackend) async throws -> T
) async throws -> T {
    try await withLiveApp(backend: backend, configure: configure) { client, server in try await body(client, server.backend) }
}

/// What `withLiveApp` hands its body: the parts `serve` was built from.
public struct LiveApp: Sendable {
    /// The embedded backend.
    public let backend: EmbeddedBackend
    /// The routes' parts: the pass runner, the trigger.
    public let parts: AppParts
}

/// Like `withLiveHTTP`, on the clock `time` (the passes', the schedule's and the trigger's), with the app's parts.
public func withLiveApp<T: Sendable>(
    backend: EmbeddedBackend = EmbeddedBackend(), time: Timekeeper = .system, configure: (inout MatchmakerConfig) -> Void = { _ in },
    _ body: @escaping @Sendable (any TestClientProtocol, LiveApp) async throws -> T
) async throws -> T {
    var config = MatchmakerConfig.onDemand
    configure(&config)
    var bots = BotConfig()
    bots.enabled = false
    let server = await buildServe(
        config: config, bots: bots, backend: .embedded(backend), exporter: PrometheusExporter(), logger: testLogger, time: time)
    return try await server.application.test(.live) { client in
        try await body(client, LiveApp(backend: backend, parts: server.parts))
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
