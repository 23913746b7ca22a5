import ArgumentParser
import Configuration
import Hummingbird
import Logging
import MatchmakerCore
import ServiceLifecycle

/// `matchmaker bots`: the bot service on its own, against Supabase or a running embedded `serve`.
struct Bots: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the bot service against SUPABASE_URL, with /healthz, /readyz, /metrics and /stats.")

    @OptionGroup var common: CommonOptions

    /// Where the operations routes listen.
    @OptionGroup var listen: ListenOptions

    @Option(help: "The project URL (SUPABASE_URL), e.g. a running `matchmaker serve` at http://127.0.0.1:8080.")
    var url: String?

    func run() async throws {
        let project: [AbsoluteConfigKey: ConfigValue] = url.map { ["supabase.url": ConfigValue(.string($0), isSecret: false)] } ?? [:]
        let (config, bots, logger) = try listen.bootstrap(common, adding: project)
        let exporter = PrometheusExporter()
        exporter.bootstrap()
        let app = try CommonOptions.validated { () throws(ConfigError) in
            try buildBots(config: config, bots: bots, exporter: exporter, logger: logger)
        }
        logger.info(
            "Starting the bot service",
            metadata: ["version": "\(matchmakerVersion)", "http.host": "\(config.host)", "http.port": "\(config.port)"])
        try await app.runService()
    }
}
