import ArgumentParser
import Configuration
import Logging
import MatchmakerCore
import ServiceLifecycle

/// `matchmaker serve`: the function endpoint, operations routes and a pass every `MATCH_INTERVAL`.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve the function endpoint and run passes on a schedule.")

    @OptionGroup var common: CommonOptions

    @OptionGroup var listen: ListenOptions

    @Option(help: "Seconds between scheduled passes (MATCH_INTERVAL, default 2).")
    var interval: Double?

    func run() async throws {
        let scheduled: [AbsoluteConfigKey: ConfigValue] =
            interval.map { ["match.interval": ConfigValue(.string(String($0)), isSecret: false)] } ?? [:]
        let (config, bots, logger) = try listen.bootstrap(common, adding: scheduled)
        let exporter = PrometheusExporter()
        exporter.bootstrap()
        let backend = try Backend.make(config: config, logger: logger, oneShot: false)
        let server = await buildServe(config: config, bots: bots, backend: backend, exporter: exporter, logger: logger)
        logger.info(
            "Starting",
            metadata: [
                "version": "\(matchmakerVersion)", "backend": "\(backend.name)", "http.host": "\(config.host)",
                "http.port": "\(config.port)",
            ])
        try await server.serviceGroup(logger: logger).run()
    }
}
