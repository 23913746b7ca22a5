import EmbeddedSupabase
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle
import Shared

/// What the HTTP application serves: the pass runner behind the function endpoint, the backend (whose
/// Supabase slice is served too when it is the embedded one), and the parts `/stats` reports on.
public struct AppParts: Sendable {
    /// The backend the passes run against.
    public var backend: Backend
    /// Runs passes one at a time.
    public var runner: PassRunner
    /// Verifies JWTs when keys are configured.
    public var verifier: JWTVerifier?
    /// The Prometheus registry behind `/metrics`.
    public var exporter: PrometheusExporter
    /// The in-process bots, whose numbers `/stats` shows under `bots`.
    public var bots: InProcessBots?
    /// The gauges of the status line (queue, outbox, bots), in `exporter`.
    public var gauges: OpsGauges
    /// Runs passes on events (`MATCH_ON_EVENTS`), when on.
    public var trigger: PassTrigger?

    /// Bundles the parts.
    public init(
        backend: Backend, runner: PassRunner, verifier: JWTVerifier?, exporter: PrometheusExporter, bots: InProcessBots? = nil,
        trigger: PassTrigger? = nil
    ) {
        self.backend = backend
        self.trigger = trigger
        self.runner = runner
        self.verifier = verifier
        self.exporter = exporter
        self.bots = bots
        gauges = OpsGauges(factory: exporter.factory)
    }

    /// The status line's numbers now: the Realtime client (the lobby's, or the in-process bots' pool), the bots,
    /// and the backend's queue levels and outbox backlog.
    public func status(logger: Logger) async -> OpsStatus {
        let manager = bots?.running
        return await OpsStatus.read(
            client: backend.realtime ?? manager?.client, bots: manager, queueLevels: backend.queueLevels,
            outboxBacklog: backend.outboxBacklog, logger: logger)
    }

    /// `/stats` now, from every part that runs in this process.
    public func statsReport() -> StatsReport {
        let embedded = backend.embedded
        return StatsReport(
            passes: runner.stats.snapshot, backend: embedded == nil ? "external" : "embedded",
            queueDepth: embedded.map { $0.pgmq.rows($0.queueName).count }, realtimeConnections: embedded?.hub.connectionCount,
            realtime: backend.realtime.map(RealtimeStats.init), bots: bots?.stats
        )
    }
}

/// Builds the router: the function endpoint, operations routes and, on the embedded backend, the Supabase slice.
public func buildRouter(_ parts: AppParts) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: HTTPMetricsMiddleware(factory: parts.exporter.factory))
    FunctionController(runner: parts.runner, verifier: parts.verifier).addRoutes(to: router)
    let (bots, gauges) = (parts.bots, parts.gauges)
    OpsController(
        stats: parts.statsReport, exporter: parts.exporter, readiness: parts.backend.readiness,
        refresh: { if let manager = bots?.running { gauges.record(bots: manager.stats) } }
    ).addRoutes(to: router)
    parts.backend.embedded?.supabase.addRoutes(to: router, verifier: parts.verifier)
    return router
}

/// Builds the HTTP application; on the embedded backend the same port also upgrades
/// `/realtime/v1/websocket` to the local Realtime hub. `services` run with the server and stop after it.
/// `onServerRunning` hears the bound channel (its port when the configured port is 0).
public func buildApplication(
    _ parts: AppParts, services: [any Service] = [], configuration: ApplicationConfiguration, logger: Logger,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) -> Application<RouterResponder<AppRequestContext>> {
    let server: HTTPServerBuilder =
        if let embedded = parts.backend.embedded {
            embedded.supabase.server(verifier: parts.verifier, configuration: .init(ws: .init(maxFrameSize: 1 << 20, autoPing: .disabled)))
        } else {
            .http1()
        }
    var app = Application(
        router: buildRouter(parts), server: server, configuration: configuration, onServerRunning: onServerRunning, logger: logger)
    app.addServices(services)
    return app
}
