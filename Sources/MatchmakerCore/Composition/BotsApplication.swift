import EmbeddedSupabase
import Hummingbird
import Logging
import Shared

/// `matchmaker bots`, assembled: the bot service against `SUPABASE_URL` (a project, or a running
/// embedded `serve`), with `/healthz`, `/readyz`, `/metrics` and `/stats` on `HTTP_HOST`:`HTTP_PORT`. The
/// bots' HTTP client, Realtime pool and manager are the application's services: they start before the
/// server and stop after it, the manager first, so every bot leaves before the pool closes. A status
/// line is logged every `MAINTENANCE_INTERVAL_MS`.
public func buildBots(config: MatchmakerConfig, bots: BotConfig, exporter: PrometheusExporter, logger: Logger) throws(ConfigError)
    -> Application<RouterResponder<AppRequestContext>>
{
    guard let url = config.supabaseURL else {
        throw ConfigError(key: "SUPABASE_URL", value: "(missing: the project, or a running `matchmaker serve`)")
    }
    let parts = buildBotService(
        config: bots, realtime: config.realtimeConfiguration(url: url, apiKey: config.serviceRoleKey ?? ""),
        metrics: exporter.factory, logger: logger
    )
    let gauges = OpsGauges(factory: exporter.factory)
    var app = Application(
        router: buildBotRouter(parts.manager, exporter: exporter, gauges: gauges), server: .guardedHTTP1(config.httpLimits),
        configuration: ApplicationConfiguration(address: .hostname(config.host, port: config.port), serverName: "matchmaker-bots"),
        logger: logger
    )
    app.addServices(parts.services)
    let manager = parts.manager
    app.addServices(
        StatusService(interval: bots.manager.interval, gauges: gauges, logger: logger) {
            await OpsStatus.read(client: manager.client, bots: manager, logger: logger)
        })
    return app
}

/// The router of `matchmaker bots`: the operations routes of `serve` over the bot service, each request counted.
///
/// `/readyz` is ready once the manager runs and its Realtime client has an open socket (`botReadiness`);
/// `/stats` is the bots' part of `serve`'s; `/metrics` sets the bot gauges at every scrape.
public func buildBotRouter(_ manager: BotManager, exporter: PrometheusExporter, gauges: OpsGauges) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self)
    router.add(middleware: HTTPMetricsMiddleware(factory: exporter.factory))
    OpsController(
        stats: { BotStats(manager) }, exporter: exporter, readiness: { botReadiness(manager) },
        refresh: { gauges.record(bots: manager.stats) }
    ).addRoutes(to: router)
    return router
}
