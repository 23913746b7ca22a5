import ArgumentParser
import Configuration
import Hummingbird
import Logging
import MatchmakerCore
import ServiceLifecycle
import Shared

/// `matchmaker bots`: the bot service on its own, against Supabase or a running embedded `serve`.
struct Bots: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the bot service against SUPABASE_URL, with /healthz and /stats.")

    @OptionGroup var common: CommonOptions

    /// Where `/healthz` and `/stats` listen.
    @OptionGroup var listen: ListenOptions

    @Option(help: "The project URL (SUPABASE_URL), e.g. a running `matchmaker serve` at http://127.0.0.1:8080.")
    var url: String?

    func run() async throws {
        var extra = listen.values
        if let url { extra["supabase.url"] = ConfigValue(.string(url), isSecret: false) }
        let (config, logger) = try common.bootstrap(extra: extra)
        let bots: BotConfig
        do {
            bots = try BotConfig(reader: common.reader(extra: extra))
        } catch let error as ConfigError {
            throw ValidationError(error.description)
        }
        guard let supabaseURL = config.supabaseURL else {
            throw ValidationError("SUPABASE_URL (or --url) is required: the project, or a running `matchmaker serve`.")
        }
        let parts = buildBotService(
            config: bots, realtime: config.realtimeConfiguration(url: supabaseURL, apiKey: config.serviceRoleKey ?? ""),
            queue: config.queueName, logger: logger
        )
        logger.info("Starting the bot service", metadata: ["http.host": "\(config.host)", "http.port": "\(config.port)"])
        var app = Application(
            router: buildBotRouter(parts.manager),
            configuration: ApplicationConfiguration(address: .hostname(config.host, port: config.port), serverName: "matchmaker-bots"),
            logger: logger
        )
        app.addServices(parts.services)
        try await app.runService()
    }
}
