import ArgumentParser
import Foundation
import Logging
import MatchmakerCore
import Shared

/// `matchmaker match`: one pass, the report on standard output, exit 1 on failure (for an external cron).
struct Match: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one pass against the configured backend and print its report.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Write a fixture of the pass's upstream exchanges to this file (needs SUPABASE_URL).")
    var record: String?

    func run() async throws {
        let (config, logger) = try common.bootstrap()
        let name = record.map { URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent }
        let pass = try CommonOptions.validated { () throws(ConfigError) in
            try OneShotPass(config: config, recordingName: name, logger: logger)
        }
        let outcome = try await pass.run()
        print(try JSONCoding.string(outcome.body, pretty: true))
        if let record, let fixture = outcome.fixture {
            try Data((try JSONCoding.string(fixture, pretty: true) + "\n").utf8).write(to: URL(fileURLWithPath: record))
            logger.info("Fixture recorded", metadata: ["fixture.path": "\(record)", "fixture.exchanges": "\(fixture.exchanges.count)"])
        }
        if outcome.status != 200 { throw ExitCode.failure }
    }
}
