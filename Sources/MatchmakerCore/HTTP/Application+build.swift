import Hummingbird
import Logging
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

    /// Bundles the parts.
    public init(
        runner: PassRunner, verifier: JWTVerifier?, embedded: EmbeddedBackend?, exporter: PrometheusExporter,
        readiness: @escaping @Sendable () async -> String? = { nil }, services: [any Service] = []
    ) {
        self.runner = runner
        self.verifier = verifier
        self.embedded = embedded
        self.exporter = exporter
        self.readiness = readiness
        self.services = services
    }
}

/// Builds the router: the function endpoint, operations routes and, on the embedded backend, the Supabase slice.
public func buildRouter(_ parts: AppParts) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.addMiddleware {
        ErrorShapeMiddleware<AppRequestContext>()
    }
    FunctionController(runner: parts.runner, verifier: parts.verifier).addRoutes(to: router)
    let embedded = parts.embedded
    OpsController(
        stats: parts.runner.stats, exporter: parts.exporter,
        extraStats: {
            guard let embedded else { return ["backend": "external"] }
            let rows = embedded.pgmq.rows(embedded.queueName)
            return ["backend": "embedded", "queueDepth": .number(Double(rows.count))]
        },
        readiness: parts.readiness
    ).addRoutes(to: router)
    if let embedded {
        PgmqController(pgmq: embedded.pgmq, store: embedded.store, verifier: parts.verifier).addRoutes(to: router)
        TableController(store: embedded.store, verifier: parts.verifier).addRoutes(to: router)
    }
    return router
}

/// Builds the HTTP application with its services.
public func buildApplication(_ parts: AppParts, configuration: ApplicationConfiguration, logger: Logger) -> some ApplicationProtocol {
    var app = Application(router: buildRouter(parts), configuration: configuration, logger: logger)
    app.addServices(parts.services)
    return app
}
