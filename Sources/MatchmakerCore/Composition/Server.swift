import Hummingbird
import Logging
import Metrics
import ServiceLifecycle
import Shared
import UnixSignals

/// `matchmaker serve`, assembled: the HTTP application (function endpoint, operations routes and, on
/// the embedded backend, the Supabase slice) with the clients, the pass scheduler and the outbox relay
/// as its services, and the in-process bots beside it.
///
/// `main` runs it; the live tests build it the same way, on the embedded backend and port 0.
public struct Server: Sendable {
    /// What the routes serve.
    public let parts: AppParts
    /// The HTTP application; its services start before the server and stop after it.
    public let application: Application<RouterResponder<AppRequestContext>>
    /// The port, once the server listens.
    public let port: BoundPort

    /// One group: the application, then the bots, which stop first on SIGTERM/SIGINT while the server
    /// still carries their goodbyes (`room_closed`, presence leaves).
    public func serviceGroup(gracefulShutdownSignals: [UnixSignal] = [.sigterm, .sigint], logger: Logger) -> ServiceGroup {
        var services: [any Service] = [application]
        if let bots = parts.bots { services.append(bots) }
        return ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: gracefulShutdownSignals, logger: logger)
        )
    }
}

/// Builds `serve` on `backend`: a pass every `MATCH_INTERVAL`, the function endpoint (checked when a JWT
/// secret, a JWKS URL or a new API key is configured: `Authentication`), the outbox relay where the backend keeps one, and on the embedded
/// backend the in-process bots (`BOTS`).
///
/// With `MATCH_ON_EVENTS` (the default) a `PassTrigger` also runs a pass shortly after the backend reports
/// someone matchable (`Backend.eventSources`) and at the next bot-fill moment; `time` is the clock of the
/// passes, the schedule and the trigger (a test clock in tests).
public func buildServe(
    config: MatchmakerConfig, bots botConfig: BotConfig, backend: Backend, exporter: PrometheusExporter, logger: Logger,
    time: Timekeeper = .system
) async -> Server {
    let runner = PassRunner(
        pass: MatchPass(ports: backend.ports, settings: config.pass, time: time, logger: logger),
        maxWaiting: config.maxWaitingCallers, metrics: RunnerMetrics(factory: exporter.factory))
    let authentication = await Authentication.make(config: config, logger: logger)
    let verifier = authentication.verifier
    if verifier == nil {
        logger.notice("No SUPABASE_JWT_SECRET, SUPABASE_JWKS_URL or sb_ key: the function endpoint accepts every caller")
    }
    if backend.embedded != nil {
        logger.notice(
            "Embedded backend: the queue, users, rooms and outbox live in this process's memory; a restart or crash loses them. Set DATABASE_URL or SUPABASE_URL to keep them"
        )
    }
    var services = backend.services + authentication.services
    services.append(MatchScheduler(runner: runner, interval: config.matchInterval, time: time, logger: logger))
    var trigger: PassTrigger?
    if config.matchOnEvents {
        let events = PassTrigger(runner: runner, debounce: config.matchDebounce, time: time, logger: logger)
        services.append(events)
        services += backend.eventSources { events.signal() }
        trigger = events
    } else {
        logger.info("MATCH_ON_EVENTS is off: passes run on the schedule and on function calls only")
    }
    if let relay = backend.relay {
        services.append(OutboxRelayService(relay: relay, interval: config.matchInterval, logger: logger))
    }
    let port = BoundPort()
    let bots =
        backend.embedded == nil
        ? nil : inProcessBots(config: config, bots: botConfig, port: port, metrics: exporter.factory, logger: logger)
    let parts = AppParts(backend: backend, runner: runner, verifier: verifier, exporter: exporter, bots: bots, trigger: trigger)
    services.append(
        StatusService(interval: botConfig.manager.interval, gauges: parts.gauges, logger: logger) { await parts.status(logger: logger) })
    let application = buildApplication(
        parts, services: services,
        configuration: ApplicationConfiguration(address: .hostname(config.host, port: config.port), serverName: "matchmaker"),
        limits: config.httpLimits, logger: logger,
        onServerRunning: { channel in
            if let bound = channel.localAddress?.port { port.bind(bound) }
        }
    )
    return Server(parts: parts, application: application, port: port)
}

/// The in-process bots of the embedded backend (`BOTS`, default on), or nil when they are off.
private func inProcessBots(
    config: MatchmakerConfig, bots: BotConfig, port: BoundPort, metrics: any MetricsFactory, logger: Logger
) -> InProcessBots? {
    guard bots.enabled else {
        logger.info("Bots are off (BOTS=off)")
        return nil
    }
    if config.requiresAuthentication, bots.serviceRoleKey == nil {
        logger.notice("Bots are off: callers must authenticate but SUPABASE_SERVICE_ROLE_KEY is not set")
        return nil
    }
    let host = ["0.0.0.0", "::", ""].contains(config.host) ? "127.0.0.1" : config.host
    return InProcessBots(port: port, logger: logger) { port in
        buildBotService(
            config: bots, realtime: config.realtimeConfiguration(url: "http://\(host):\(port)", apiKey: bots.serviceRoleKey ?? ""),
            metrics: metrics, logger: logger
        )
    }
}
