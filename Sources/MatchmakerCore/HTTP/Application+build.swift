import EmbeddedSupabase
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle
import Shared

/// Everything the HTTP application serves, injected by `main` or by a test.
public struct AppParts: Sendable {
    /// Runs passes one at a time.
    public var runner: PassRunner
    /// Verifies JWTs when keys are configured.
    public var verifier: JWTVerifier?
    /// The embedded backend, whose Supabase slice is then served too.
    public var embedded: EmbeddedBackend?
    /// The Prometheus registry behind `/metrics`.
    public var exporter: PrometheusExporter
    /// Whether a pass can run; a reason when it cannot.
    public var readiness: @Sendable () async -> String?
    /// Long-running services that live and die with the server (scheduler, clients).
    public var services: [any Service]
    /// The Realtime client, whose monitor and pool numbers `/stats` shows under `realtime`.
    public var realtime: RealtimeClient?
    /// More sections for `/stats` (the in-process bots under `bots`).
    public var moreStats: @Sendable () -> [String: JSONValue] = { [:] }

    /// Bundles the parts.
    public init(
        runner: PassRunner, verifier: JWTVerifier?, embedded: EmbeddedBackend?, exporter: PrometheusExporter,
        readiness: @escaping @Sendable () async -> String? = { nil }, services: [any Service] = [],
        realtime: RealtimeClient? = nil
    ) {
        self.runner = runner
        self.verifier = verifier
        self.embedded = embedded
        self.exporter = exporter
        self.readiness = readiness
        self.services = services
        self.realtime = realtime
    }
}

/// Builds the router: the function endpoint, operations routes and, on the embedded backend, the Supabase slice.
public func buildRouter(_ parts: AppParts) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    FunctionController(runner: parts.runner, verifier: parts.verifier).addRoutes(to: router)
    let embedded = parts.embedded
    let realtime = parts.realtime
    let moreStats = parts.moreStats
    OpsController(
        stats: parts.runner.stats, exporter: parts.exporter,
        extraStats: {
            var extra = moreStats()
            if let realtime {
                extra["realtime"] = [
                    "monitor": (try? JSONValue(encoding: realtime.monitor.snapshot)) ?? .null,
                    "pool": (try? JSONValue(encoding: realtime.stats())) ?? .null,
                ]
            }
            guard let embedded else { return extra.merging(["backend": "external"]) { $1 } }
            let rows = embedded.pgmq.rows(embedded.queueName)
            return extra.merging([
                "backend": "embedded", "queueDepth": .number(Double(rows.count)),
                "realtimeConnections": .number(Double(embedded.hub.connectionCount)),
            ]) { $1 }
        },
        readiness: parts.readiness
    ).addRoutes(to: router)
    embedded?.supabase.addRoutes(to: router, verifier: parts.verifier)
    return router
}

/// Builds the HTTP application with its services; on the embedded backend the same port also upgrades
/// `/realtime/v1/websocket` to the local Realtime hub.
/// `onServerRunning` hears the bound channel (its port when the configured port is 0).
public func buildApplication(
    _ parts: AppParts, configuration: ApplicationConfiguration, logger: Logger,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let server: HTTPServerBuilder =
        if let embedded = parts.embedded {
            .http1WebSocketUpgrade(
                webSocketRouter: embedded.supabase.webSocketRouter(verifier: parts.verifier),
                configuration: .init(ws: .init(maxFrameSize: 1 << 20, autoPing: .disabled))
            )
        } else {
            .http1()
        }
    var app = Application(
        router: buildRouter(parts), server: server, configuration: configuration, onServerRunning: onServerRunning, logger: logger)
    app.addServices(parts.services)
    return app
}
