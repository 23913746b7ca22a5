import ArgumentParser
import Foundation
import Logging
import MatchmakerCore
import Shared

/// `matchmaker replay FILE…`: replays fixtures and prints every difference; exit 1 on any.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Replay recorded passes and compare their outcomes.")

    @OptionGroup var common: CommonOptions

    @Flag(help: "Write the actual outcome into each fixture's `expected` instead of comparing (review the diff!).")
    var update = false

    @Argument(help: "Fixture files.")
    var files: [String]

    func run() async throws {
        var (_, logger) = try common.bootstrap()
        logger.logLevel = .critical
        let runner = FixtureRunner(logger: logger)
        var failed = 0
        for path in files {
            let url = URL(fileURLWithPath: path)
            do {
                var fixture = try FixtureRunner.load(url)
                if update {
                    fixture.expected = try await runner.run(fixture)
                    try Data((try JSONCoding.string(fixture, pretty: true) + "\n").utf8).write(to: url)
                    print("UPDATED \(path)")
                    continue
                }
                let differences = try await runner.check(fixture)
                if differences.isEmpty {
                    print("PASS \(path)")
                } else {
                    failed += 1
                    print("FAIL \(path) (\(fixture.name))")
                    for line in differences { print("  \(line)") }
                }
            } catch {
                failed += 1
                print("ERROR \(path): \(error)")
            }
        }
        print("\(files.count - failed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode.failure }
    }
}
