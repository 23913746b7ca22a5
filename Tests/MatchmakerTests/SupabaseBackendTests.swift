import EmbeddedSupabase
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MatchmakerCore
import Metrics
import Shared
import Synchronization
import TestSupport
import Testing

/// Injects upstream failures in front of a real transport: per path or body fragment, a script of outcomes
/// (an HTTP error status, 0 for a timeout, any 2xx to pass the request through); the last outcome repeats.
final class FaultyTransport: HTTPTransport {
    private let inner: any HTTPTransport
    private let scripts: Mutex<[(fragment: String, outcomes: [Int])]>
    private let told = Mutex<[UserNotification]>([])

    init(_ inner: any HTTPTransport, faults: [(String, [Int])]) {
        self.inner = inner
        scripts = Mutex(faults.map { (fragment: $0.0, outcomes: $0.1) })
    }

    /// Notifications Realtime accepted (2xx), in order.
    var delivered: [UserNotification] { told.withLock { $0 } }

    func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
        let injected: Int? = scripts.withLock { scripts in
            let body = request.body.flatMap { try? JSONCoding.string($0) } ?? ""
            guard let index = scripts.firstIndex(where: { request.path.contains($0.fragment) || body.contains($0.fragment) }) else {
                return nil
            }
            let outcome = scripts[index].outcomes.first
            if scripts[index].outcomes.count > 1 { scripts[index].outcomes.removeFirst() }
            return outcome
        }
        if let injected, !(200..<300).contains(injected) {
            if injected == 0 { throw UpstreamError(kind: .timeout, message: "injected timeout") }
            return UpstreamResponse(status: injected, body: #"{"code":"XX000","message":"injected","details":null,"hint":null}"#)
        }
        let response = try await inner.send(request)
        if request.path == "/realtime/v1/api/broadcast", (200..<300).contains(response.status),
            case .array(let messages)? = request.body?["messages"]
        {
            told.withLock { told in
                for message in messages {
                    guard let topic = message["topic"]?.stringValue, let event = message["event"]?.stringValue else { continue }
                    told.append(
                        UserNotification(userID: String(topic.dropFirst("user:".count)), event: event, payload: message["payload"] ?? .null)
                    )
                }
            }
        }
        return response
    }
}

/// A pass of the `supabase` backend against the embedded app over real HTTP.
func supabasePass(
    transport: any HTTPTransport, presence: PresenceSnapshot, settings: MatchPass.Settings, time: Timekeeper, seed: UInt64 = 1
) -> MatchPass {
    let backend = SupabaseBackend(transport: transport, queueName: "stranger-queue", notifyPrivate: false)
    let random = Mutex(SplitMix64(seed: seed))
    return MatchPass(
        ports: backend.ports(presence: EmbeddedPresence(presence)), settings: settings, time: time, roomIDs: RoomIDSource(seed: seed),
        metrics: MatchMetrics(factory: NOOPMetricsHandler.instance), logger: testLogger,
        unit: { random.withLock { Double($0.next() >> 11) / Double(1 << 53) } }
    )
}

@Suite(.serialized) struct SupabaseBackendTests {
    /// Fixtures whose faults live in the data (not in notification delivery, which goes through the hub here).
    /// (Skip-ledger faults are injected into the in-process store only, so fixture 19 is left out too.)
    static let comparable = fixtureFiles.filter {
        !["13-notify-retry-then-success.json", "14-notify-fails-for-good.json", "19-skip-ledger-down.json"].contains($0)
    }

    @Test(arguments: comparable)
    func overRealHTTPTheSupabaseBackendGivesTheInProcessOutcome(file: String) async throws {
        let fixture = try FixtureRunner.load(fixturesFolder.appendingPathComponent(file))
        let expected = try #require(fixture.expected)
        let now = try fixture.instant
        let harness = AppHarness(now: now)
        try fixture.build(in: harness.pass.backend)
        try await withEmbeddedSupabase(harness) { transport, harness in
            let frozen = Timekeeper(now: { now }, sleep: { _ in })
            let pass = supabasePass(
                transport: transport, presence: try fixture.presence.snapshot(), settings: fixture.settings, time: frozen,
                seed: fixture.config.seed ?? 1
            )
            let outcome = try await fixture.outcome(of: pass, in: harness.pass.backend, time: frozen)
            #expect(outcome.status == expected.status)
            let differences = JSONDiff.differences(expected: expected.response, actual: outcome.response, path: "response")
            #expect(differences.isEmpty, "\(differences)")
            #expect(outcome.rooms == expected.rooms)
            #expect(outcome.queue.map(\.msgID) == expected.queue.map(\.msgID))
            #expect(outcome.archived == expected.archived)
        }
    }

    /// Every call of a pass failing in every way: nobody is ever lost.
    @Test(arguments: [
        ("rpc/read", [500]), ("rpc/read", [429, 200]), ("rpc/read", [0]),
        ("skipped_pair", [500]), ("/rest/v1/user", [503]),
        ("rpc/commit_stranger_match", [500]), ("rpc/commit_stranger_match", [0, 200]), ("rpc/commit_stranger_match", [500, 500, 200]),
        ("api/broadcast", [401]), ("api/broadcast", [429, 202]), ("api/broadcast", [500]), ("api/broadcast", [0, 0, 0, 202]),
        ("rpc/ack_stranger_match", [500]), ("rpc/delete_stranger_room", [500]), ("rpc/archive", [500]), ("rpc/delete", [502]),
    ])
    func noUserIsLostWhateverFails(fragment: String, outcomes: [Int]) async throws {
        let harness = AppHarness()
        let backend = harness.pass.backend
        let users = (0..<9).map { "u\($0)" }
        for (index, user) in users.enumerated() { try harness.pass.enqueue(user, age: index == 8 ? 70 : 1) }
        _ = try backend.pgmq.send(backend.queueName, message: ["bad": true])
        try await withEmbeddedSupabase(harness) { transport, harness in
            let faulty = FaultyTransport(transport, faults: [(fragment, outcomes)])
            let pass = supabasePass(
                transport: faulty, presence: .unavailable(reason: "test"), settings: harness.pass.settings, time: harness.pass.time)
            let report = try? await pass.run()
            let remaining = Set(backend.pgmq.rows(backend.queueName).compactMap { $0.message["userId"]?.stringValue })
            let tables = backend.store.contents
            let told = faulty.delivered
            var rooms: [String: Int] = [:]
            for (id, members) in tables.members {
                for member in members {
                    rooms[member, default: 0] += 1
                    let matched = told.contains {
                        $0.userID == member && $0.event == "stranger_matched" && $0.payload["room"]?["id"]?.stringValue == id
                    }
                    #expect(matched, "\(member) is in room \(id) but was never told")
                }
            }
            for user in users {
                let inRoom = rooms[user] ?? 0
                let expired = told.contains { $0.userID == user && $0.event == "stranger_no_matches" }
                #expect(inRoom <= 1, "\(user) is in \(inRoom) rooms")
                #expect(
                    inRoom == 1 || remaining.contains(user) || expired,
                    "\(user) is lost: no room, not queued, not told it expired (report: \(String(describing: report)))"
                )
                #expect(!(inRoom == 1 && remaining.contains(user)), "\(user) is in a room and still queued")
            }
            #expect(backend.pgmq.rows(backend.queueName).count + backend.pgmq.archived(backend.queueName).count >= remaining.count)
        }
    }
}

@Suite(.serialized) struct SupabaseConcurrencyTests {
    /// Several matchers, each its own pass and HTTP client, over one embedded Supabase: the commit RPC arbitrates.
    @Test func manyMatchersThroughTheSupabaseBackendNeverDoubleMatchOrLoseAUser() async throws {
        let harness = AppHarness()
        let users = (0..<300).map { "u\($0)" }
        for user in users { try harness.pass.enqueue(user) }
        for index in stride(from: 0, to: 60, by: 2) {
            harness.pass.backend.store.addSkip("u\(index)", "u\(index + 1)", at: harness.pass.now.addingTimeInterval(-2))
        }
        try await withEmbeddedSupabase(harness) { transport, harness in
            var settings = harness.pass.settings
            settings.batchSize = 20
            let frozen = Timekeeper(now: { harness.pass.now }, sleep: { _ in })
            try await withThrowingTaskGroup(of: Void.self) { group in
                for matcher in 0..<6 {
                    let pass = supabasePass(
                        transport: transport, presence: .unavailable(reason: "test"), settings: settings, time: frozen,
                        seed: UInt64(matcher + 1))
                    group.addTask {
                        for _ in 0..<10 { _ = try await pass.run() }
                    }
                }
                try await group.waitForAll()
            }
            let backend = harness.pass.backend
            let tables = backend.store.contents
            var seen: [String: Int] = [:]
            for members in tables.members.values {
                #expect(members.count == 2)
                let pair = Set(members)
                for index in stride(from: 0, to: 60, by: 2) {
                    #expect(pair != ["u\(index)", "u\(index + 1)"], "a pair that skipped each other was matched")
                }
                for member in members { seen[member, default: 0] += 1 }
            }
            let queued = Set(backend.pgmq.rows(backend.queueName).compactMap { $0.message["userId"]?.stringValue })
            for user in users {
                #expect((seen[user] ?? 0) <= 1, "\(user) is in \(seen[user] ?? 0) rooms")
                #expect(seen[user] == 1 || queued.contains(user), "\(user) is neither in a room nor queued")
                #expect(!(seen[user] == 1 && queued.contains(user)), "\(user) is in a room and still queued")
            }
            #expect(tables.rooms.count >= 100, "most users were paired: \(tables.rooms.count) rooms")
        }
    }
}
