import ArgumentParser
import Foundation
import Logging
import MatchmakerCore
import Shared

/// `matchmaker match`: one pass, the report on standard output, exit 1 on failure (for an external cron).
struct Match: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one pass against the configured backend and print its report.")

    @OptionGroup var common: CommonOptions

    func run() async throws {
        let (config, logger) = try common.bootstrap()
        if let url = config.databaseURL, config.supabaseURL == nil {
            return try await runOnPostgres(url: url, config: config, logger: logger)
        }
        try config.requireEmbedded()
        let backend = EmbeddedBackend(queueName: config.queueName)
        let pass = MatchPass(ports: backend.ports, settings: config.pass, logger: logger)
        do {
            print(try JSONCoding.string(try await pass.run().responseBody, pretty: true))
        } catch let error as PassError {
            print(try JSONCoding.string(PassReport.failureBody(message: error.message), pretty: true))
            throw ExitCode.failure
        }
    }
}
