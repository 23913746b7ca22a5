import Foundation
import Hummingbird
import HummingbirdTesting
import MatchmakerCore
import Shared
import Synchronization
import TestSupport
import Testing

/// The folder of recorded upstream passes.
let upstreamFolder = fixturesFolder.appendingPathComponent("upstream")

/// A pass recorded against the embedded Supabase slice over real HTTP, with upstream failures injected.
struct RecordingScenario: Sendable, CustomTestStringConvertible {
    var name: String
    var description: String
    var users: [(id: String, age: Double)]
    var presence: PresenceSnapshot
    var faults: [(String, [Int])] = []

    var testDescription: String { name }

    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// Records the scenario live and returns its fixture.
    func record() async throws -> UpstreamFixture {
        let harness = AppHarness(now: Self.now)
        for user in users { try harness.pass.enqueue(user.id, age: user.age) }
        let settings = {
            var settings = harness.pass.settings
            settings.commitConcurrency = 1
            return settings
        }()
        let recorded = Mutex<UpstreamFixture?>(nil)
        try await withEmbeddedSupabase(harness) { transport, _ in
            let recorder = RecordingTransport(recording: FaultyTransport(transport, faults: faults))
            let frozen = Timekeeper(now: { Self.now }, sleep: { _ in })
            let pass = supabasePass(transport: recorder, presence: presence, settings: settings, time: frozen, seed: 7)
            let outcome: UpstreamFixture.Outcome
            do {
                outcome = UpstreamFixture.Outcome(status: 200, response: try await pass.run().responseBody)
            } catch let error as PassError {
                outcome = UpstreamFixture.Outcome(status: 500, response: PassReport.failureBody(message: error.message))
            }
            recorded.withLock {
                $0 = UpstreamFixture(
                    name: name, description: description, now: Timestamp.format(Self.now), seed: 7,
                    config: UpstreamFixture.Config(settings, queueName: "stranger-queue"), presence: presence,
                    exchanges: recorder.exchanges, expected: outcome
                )
            }
        }
        return try #require(recorded.withLock { $0 })
    }

    static let all: [RecordingScenario] = [
        RecordingScenario(
            name: "normal-pass",
            description: "Four waiting users: one read, one skip query, one bot query, then per room a commit RPC, two"
                + " broadcasts (202) and an ack.",
            users: [("alice", 9), ("bob", 8), ("carol", 7), ("dave", 6)], presence: waiting("alice", "bob", "carol", "dave")
        ),
        RecordingScenario(
            name: "presence-down",
            description: "The lobby could not be read: the pass pairs as queued, says degraded, and leaves the odd user"
                + " queued.",
            users: [("p1", 40), ("p2", 35), ("p3", 30)], presence: .unavailable(reason: "timed out after 8 s waiting for presence_state")
        ),
        RecordingScenario(
            name: "notify-429-then-202",
            description: "Realtime answers bob's first broadcast with 429; the retry is accepted and the room stands.",
            users: [("alice", 5), ("bob", 4)], presence: waiting("alice", "bob"), faults: [("user:bob", [429, 202])]
        ),
        RecordingScenario(
            name: "notify-fails-for-good",
            description: "bob can never be told (500 on every attempt): the room is undone through delete_stranger_room,"
                + " which puts both messages back, and alice, already told, gets stranger_skipped.",
            users: [("alice", 5), ("bob", 4)], presence: waiting("alice", "bob"), faults: [("user:bob", [500])]
        ),
        RecordingScenario(
            name: "read-500",
            description: "PostgREST answers 500 to every read: three attempts, then the contract's 500 response; nothing"
                + " else is touched.",
            users: [("alice", 5), ("bob", 4)], presence: waiting("alice", "bob"), faults: [("rpc/read", [500])]
        ),
        RecordingScenario(
            name: "duplicate-messages",
            description: "carol has two messages (a skip flow): she is matched once, and the commit consumes both"
                + " messages.",
            users: [("carol", 9), ("dave", 8), ("carol", 3), ("erin", 2)], presence: waiting("carol", "dave", "erin")
        ),
    ]
}

@Suite(.serialized) struct UpstreamRecordingTests {
    /// Set `RECORD_UPSTREAM=1` to write the recordings into `fixtures/upstream/` (review the diff before committing).
    @Test(arguments: RecordingScenario.all)
    func theCommittedRecordingMatchesALiveRecording(scenario: RecordingScenario) async throws {
        let live = try await scenario.record()
        let file = upstreamFolder.appendingPathComponent("\(scenario.name).json")
        if ProcessInfo.processInfo.environment["RECORD_UPSTREAM"] == "1" {
            try Data((try JSONCoding.string(live, pretty: true) + "\n").utf8).write(to: file)
        }
        let committed = try UpstreamFixture.load(file)
        // The two notifications of a pair leave together, so the live order may swap them: compare as a replay does.
        let replay = ReplayTransport(exchanges: committed.exchanges)
        for exchange in live.exchanges {
            #expect((try? await replay.send(exchange.request)) == exchange.response)
        }
        #expect(replay.differences.isEmpty, "\(replay.differences)")
        #expect(committed.expected == live.expected)
    }

    @Test func everyRecordingReplaysExactly() async throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: upstreamFolder.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(files.count >= 6)
        for file in files {
            let differences = try await UpstreamFixture.load(upstreamFolder.appendingPathComponent(file)).check(logger: testLogger)
            #expect(differences.isEmpty, "\(file): \(differences)")
        }
    }

    @Test func aPassThatMakesOtherRequestsFailsItsReplay() async throws {
        var fixture = try UpstreamFixture.load(upstreamFolder.appendingPathComponent("normal-pass.json"))
        fixture.config.policy.skipWindow = 30
        let differences = try await fixture.check(logger: testLogger)
        #expect(differences.contains { $0.hasPrefix("unexpected request GET /rest/v1/skipped_pair") })
    }
}
