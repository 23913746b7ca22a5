import ArgumentParser
import Hummingbird
import Logging
import MatchmakerCore
import Shared

extension Serve {
    /// Serves on the `postgres` backend (`DATABASE_URL` without `SUPABASE_URL`): the function
    /// endpoint and the scheduler run passes against PostgreSQL, notifications go through
    /// `realtime.send`, the outbox relay runs every `MATCH_INTERVAL`, and `/readyz` asks the database.
    /// There is no lobby presence on this path, so passes run degraded.
    func serveOnPostgres(url: String, config: MatchmakerConfig, logger: Logger) async throws {
        let exporter = PrometheusExporter()
        exporter.bootstrap()
        let backend: PostgresBackend
        do {
            backend = try PostgresBackend(url: url, queueName: config.queueName, settings: config.pass, logger: logger)
        } catch let error as DatabaseURLError {
            throw ValidationError(error.description)
        }
        let notifier = SQLBroadcastNotifier(client: backend.client, logger: logger)
        let presence = EmbeddedPresence(.unavailable(reason: "no Realtime configured for the postgres backend"))
        let runner = PassRunner(
            pass: MatchPass(ports: backend.ports(presence: presence, notifier: notifier), settings: config.pass, logger: logger)
        )
        let verifier: JWTVerifier? = if let secret = config.jwtSecret { await JWTVerifier(secret: secret) } else { nil }
        if verifier == nil {
            logger.notice("No SUPABASE_JWT_SECRET: the function endpoint accepts every caller")
        }
        let parts = AppParts(
            runner: runner, verifier: verifier, embedded: nil, exporter: exporter,
            readiness: { await backend.readiness() },
            services: [
                backend,
                MatchScheduler(runner: runner, interval: config.matchInterval, logger: logger),
                OutboxRelayService(
                    relay: backend.relay(notifier: notifier, settings: config.pass), interval: config.matchInterval, logger: logger
                ),
            ]
        )
        logger.info("Starting on the postgres backend", metadata: ["http.host": "\(config.host)", "http.port": "\(config.port)"])
        let app = buildApplication(
            parts, configuration: ApplicationConfiguration(address: .hostname(config.host, port: config.port), serverName: "matchmaker"),
            logger: logger
        )
        try await app.runService()
    }
}
