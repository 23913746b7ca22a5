import Hummingbird
import Logging
import Shared

/// `matchmaker bots`, assembled: the bot service against `SUPABASE_URL` (a project, or a running
/// embedded `serve`), with `/healthz` and `/stats` on `HTTP_HOST`:`HTTP_PORT`. The bots' HTTP client,
/// Realtime pool and manager are the application's services: they start before the server and stop
/// after it, the manager first, so every bot leaves before the pool closes.
public func buildBots(config: MatchmakerConfig, bots: BotConfig, logger: Logger) throws(ConfigError)
    -> Application<RouterResponder<BasicRequestContext>>
{
    guard let url = config.supabaseURL else {
        throw ConfigError(key: "SUPABASE_URL", value: "(missing: the project, or a running `matchmaker serve`)")
    }
    let parts = buildBotService(
        config: bots, realtime: config.realtimeConfiguration(url: url, apiKey: config.serviceRoleKey ?? ""),
        queue: config.queueName, logger: logger
    )
    var app = Application(
        router: buildBotRouter(parts.manager),
        configuration: ApplicationConfiguration(address: .hostname(config.host, port: config.port), serverName: "matchmaker-bots"),
        logger: logger
    )
    app.addServices(parts.services)
    return app
}
