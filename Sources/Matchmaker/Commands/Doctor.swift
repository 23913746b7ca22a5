import ArgumentParser
import MatchmakerCore
import Shared

/// `matchmaker doctor`: checks a project before the switch-over; exit 0 when ready, 1 otherwise.
struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a Supabase project (SUPABASE_URL, keys) and/or database (DATABASE_URL) before switching over.")

    @OptionGroup var common: CommonOptions

    @Flag(help: "Print the report as JSON, for scripts.")
    var json = false

    func run() async throws {
        let (config, logger) = try common.bootstrap()
        let report = await MatchmakerCore.Doctor.run(config: config, logger: logger)
        print(json ? try JSONCoding.string(report, pretty: true) : report.text)
        if !report.ready { throw ExitCode.failure }
    }
}
