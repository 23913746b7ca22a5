import ArgumentParser
import Foundation
import Logging
import MatchmakerCore
import Shared

/// `matchmaker replay FILE…`: replays fixtures and prints every difference; exit 1 on any.
struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Replay recorded passes and compare their outcomes.")

    @OptionGroup var common: CommonOptions

    @Flag(
        help:
            "Write the actual outcome into each embedded fixture's `expected` instead of comparing (review the diff!). Upstream recordings are re-recorded with `match --record` instead."
    )
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
                if UpstreamFixture.isUpstream(url) {
                    let differences = try await UpstreamFixture.load(url).check(logger: logger)
                    failed += report(path, differences) ? 0 : 1
                    continue
                }
                var fixture = try FixtureRunner.load(url)
                if update {
                    fixture.expected = try await runner.run(fixture)
                    try Data((try JSONCoding.string(fixture, pretty: true) + "\n").utf8).write(to: url)
                    print("UPDATED \(path)")
                    continue
                }
                failed += report(path, try await runner.check(fixture)) ? 0 : 1
            } catch {
                failed += 1
                print("ERROR \(path): \(error)")
            }
        }
        print("\(files.count - failed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode.failure }
    }

    /// Prints the verdict for one file; true when it passed.
    private func report(_ path: String, _ differences: [String]) -> Bool {
        guard !differences.isEmpty else {
            print("PASS \(path)")
            return true
        }
        print("FAIL \(path)")
        for line in differences { print("  \(line)") }
        return false
    }
}
