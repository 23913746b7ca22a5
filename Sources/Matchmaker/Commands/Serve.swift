import ArgumentParser
import Configuration
import Hummingbird
import Logging
import MatchmakerCore
import NIOCore
import Shared
import Synchronization

/// `matchmaker serve`: the function endpoint, operations routes and a pass every `MATCH_INTERVAL`.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the function endpoint and run passes on a schedule.")

    @OptionGroup var common: CommonOptions

    @OptionGroup var listen: ListenOptions

    @Option(help: "Seconds between scheduled passes (MATCH_INTERVAL, default 2).")
    var interval: Double?

    func run() async throws {
        var extra = listen.values
        if let interval { extra["match.interval"] = ConfigValue(.string(String(interval)), isSecret: false) }
        let (config, logger) = try common.bootstrap(extra: extra)

        let exporter = PrometheusExporter()
        exporter.bootstrap()
        let backend = try Backend.make(config: config, logger: logger, oneShot: false)
        let runner = PassRunner(pass: MatchPass(ports: backend.ports, settings: config.pass, logger: logger))
        let verifier: JWTVerifier? = if let secret = config.jwtSecret { await JWTVerifier(secret: secret) } else { nil }
        if verifier == nil {
            logger.notice("No SUPABASE_JWT_SECRET: the function endpoint accepts every caller")
        }
        var services = backend.services
        services.append(MatchScheduler(runner: runner, interval: config.matchInterval, logger: logger))
        if let relay = backend.relay {
            services.append(OutboxRelayService(relay: relay, interval: config.matchInterval, logger: logger))
        }
        var parts = AppParts(
            runner: runner, verifier: verifier, embedded: backend.embedded, exporter: exporter, readiness: backend.readiness,
            services: services, realtime: backend.realtime
        )
        let botManager = Mutex<BotManager?>(nil)
        parts.moreStats = { botManager.withLock { $0 }.map { ["bots": botStats($0)] } ?? [:] }
        logger.info(
            "Starting", metadata: ["backend": "\(backend.name)", "http.host": "\(config.host)", "http.port": "\(config.port)"]
        )
        let (ports, portSink) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
        let app = buildApplication(
            parts, configuration: ApplicationConfiguration(address: .hostname(config.host, port: config.port), serverName: "matchmaker"),
            logger: logger,
            onServerRunning: { channel in
                if let port = channel.localAddress?.port { portSink.yield(port) }
                portSink.finish()
            }
        )
        guard backend.embedded != nil,
            let bots = try embeddedBots(
                config: config, logger: logger, ports: ports, started: { manager in botManager.withLock { $0 = manager } })
        else {
            return try await app.runService()
        }
        try await runAlongside(app, bots: bots, logger: logger)
    }

    /// The in-process bots of the embedded backend (`BOTS`, default on), talking to this server over real sockets.
    private func embeddedBots(
        config: MatchmakerConfig, logger: Logger, ports: AsyncStream<Int>, started: @escaping @Sendable (BotManager) -> Void
    ) throws -> DeferredBotService? {
        let bots: BotConfig
        do {
            bots = try BotConfig(reader: common.reader())
        } catch let error as ConfigError {
            throw ValidationError(error.description)
        }
        guard bots.enabled else {
            logger.info("Bots are off (BOTS=off)")
            return nil
        }
        if config.jwtSecret != nil, bots.serviceRoleKey == nil {
            logger.notice("Bots are off: SUPABASE_JWT_SECRET is set but SUPABASE_SERVICE_ROLE_KEY is not")
            return nil
        }
        let host = ["0.0.0.0", "::", ""].contains(config.host) ? "127.0.0.1" : config.host
        return DeferredBotService(logger: logger) {
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else { throw CancellationError() }
            logger.info("Starting the in-process bots", metadata: ["http.port": "\(port)"])
            let parts = buildBotService(
                config: bots, realtime: config.realtimeConfiguration(url: "http://\(host):\(port)", apiKey: bots.serviceRoleKey ?? ""),
                queue: config.queueName, logger: logger
            )
            started(parts.manager)
            return parts
        }
    }
}
