import Foundation
import MatchmakerCore
import Shared
import TestSupport
import Testing

/// The package's `fixtures/` folder, found from this file's path.
let fixturesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("fixtures")

let fixtureFiles: [String] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: fixturesFolder.path)) ?? []
    return names.filter { $0.hasSuffix(".json") }.sorted()
}()

@Suite struct FixtureReplayTests {
    @Test func thereAreEnoughFixtures() {
        #expect(fixtureFiles.count >= 12)
    }

    @Test(arguments: fixtureFiles)
    func fixtureReplaysExactly(file: String) async throws {
        let fixture = try FixtureRunner.load(fixturesFolder.appendingPathComponent(file))
        #expect(fixture.expected != nil, "every committed fixture carries its expected outcome")
        let differences = try await FixtureRunner(logger: testLogger).check(fixture)
        #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
    }

    @Test func aBrokenFixtureIsReportedWithReadableDifferences() async throws {
        var fixture = try FixtureRunner.load(fixturesFolder.appendingPathComponent("01-pair-two-humans.json"))
        var expected = try #require(fixture.expected)
        expected.notifications.removeLast()
        expected.queue.append(Fixture.Remaining(msgID: 9, readCount: 1, leased: true))
        fixture.expected = expected
        let differences = try await FixtureRunner(logger: testLogger).check(fixture)
        #expect(differences.contains { $0.hasPrefix("expected.notifications[1]: unexpected") })
        #expect(differences.contains { $0.hasPrefix("expected.queue[0]: expected") && $0.hasSuffix("missing") })
    }

    @Test func replayIsDeterministic() async throws {
        let fixture = try FixtureRunner.load(fixturesFolder.appendingPathComponent("13-notify-retry-then-success.json"))
        let runner = FixtureRunner(logger: testLogger)
        let first = try await runner.run(fixture)
        let second = try await runner.run(fixture)
        #expect(first == second)
    }
}
