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
    private let firedCounts = Mutex<[String: Int]>([:])

    init(_ inner: any HTTPTransport, faults: [(String, [Int])]) {
        self.inner = inner
        scripts = Mutex(faults.map { (fragment: $0.0, outcomes: $0.1) })
    }

    /// Notifications Realtime accepted (2xx), in order.
    var delivered: [UserNotification] { told.withLock { $0 } }

    /// How many requests matching `fragment` were answered with an injected failure instead of reaching the app.
    func fired(_ fragment: String) -> Int { firedCounts.withLock { $0[fragment] ?? 0 } }

    func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
        let injected: Int? = scripts.withLock { scripts -> Int? in
            let body = request.body.flatMap { try? JSONCoding.string($0) } ?? ""
            guard let index = scripts.firstIndex(where: { request.path.contains($0.fragment) || body.contains($0.fragment) }) else {
                return nil
            }
            let outcome = scripts[index].outcomes.first
            if scripts[index].outcomes.count > 1 { scripts[index].outcomes.removeFirst() }
            if let outcome, !(200..<300).contains(outcome) {
                firedCounts.withLock { $0[scripts[index].fragment, default: 0] += 1 }
            }
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
    /// (Skip-ledger faults are injected into the in-process store only, so those fixtures are left out too.)
    static let comparable = fixtureFiles.filter { file in
        guard let fixture = try? FixtureRunner.load(fixturesFolder.appendingPathComponent(file)) else { return true }
        return fixture.faults.notify == nil && fixture.faults.skips == nil
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

    /// One pass over `faultScenario` with a fault in front of one kind of call: the fault fires as many times
    /// as the retry rules allow, the pass ends exactly as the contract says, and nobody is lost.
    @Test(arguments: FaultCase.all)
    func aFaultFiresAndThePassEndsExactlyAsTheContractSays(_ fault: FaultCase) async throws {
        let harness = try faultScenario()
        let backend = harness.pass.backend
        try await withEmbeddedSupabase(harness) { transport, harness in
            let upstream = FaultyTransport(transport, faults: fault.faults)
            let pass = supabasePass(
                transport: upstream, presence: .unavailable(reason: "test"), settings: harness.pass.settings, time: harness.pass.time)
            do {
                let report = try await pass.run()
                #expect(fault.passError == nil, "the pass completed")
                #expect(report.totalUsers == 10)
                #expect(report.degraded)
                #expect(report.pairedRooms == fault.rooms.count)
                #expect(report.undone == fault.undone)
                #expect(report.expired == fault.expired)
                #expect(report.malformed == (fault.archived == [10] ? 1 : 0))
                #expect(report.unprocessedUsers == 1 + 2 * fault.undone, "u8 (expired or not) and both users of each undone pair")
                #expect(report.skipsUnavailable == fault.skipsUnavailable)
                #expect(report.failedNotificationAttempts == fault.failedNotificationAttempts)
            } catch let error as PassError {
                #expect(error.message == fault.passError)
                #expect((error.underlying as? RetryFailure)?.attempts == 3, "the read was tried 1 + 2 times")
            }
            for (fragment, count) in fault.fired {
                #expect(upstream.fired(fragment) == count, "injected failures at \(fragment)")
            }
            #expect(Set(backend.store.contents.members.values) == fault.rooms)
            #expect(queueState(backend, time: harness.pass.time) == fault.queue)
            #expect(backend.pgmq.archived(backend.queueName).map(\.msgID) == fault.archived)
            #expect(heard(upstream.delivered) == fault.told)
            expectNobodyIsLost(backend: backend, told: upstream.delivered)
            try await harness.pass.time.sleep(.seconds(61))
            #expect(
                backend.store.claimStrangerMatches(claimSeconds: 60, limit: 100).count == fault.pending,
                "committed matches left unacknowledged, for the relay")
        }
    }

    /// Runs one supabase-backend pass over `harness` (leasing the whole queue) and returns its report with the paths
    /// of the upstream requests it made, query strings dropped.
    func passRequests(_ harness: AppHarness, batchSize: Int) async throws -> (report: PassReport, paths: [String]) {
        let outcome = Mutex<(report: PassReport, paths: [String])?>(nil)
        try await withEmbeddedSupabase(harness) { transport, harness in
            let recorder = RecordingTransport(recording: transport)
            var settings = harness.pass.settings
            settings.batchSize = batchSize
            let pass = supabasePass(
                transport: recorder, presence: .unavailable(reason: "test"), settings: settings, time: harness.pass.time)
            let report = try await pass.run()
            outcome.withLock { $0 = (report, recorder.exchanges.map { String($0.request.path.split(separator: "?")[0]) }) }
        }
        return try #require(outcome.withLock { $0 })
    }

    /// Issue 14 over PostgREST: a lone human past `BOT_FILL_AFTER` gets an idle registered bot through
    /// `rpc/idle_bots` and the set-wise commit, which claims it; a second lone human finds none.
    @Test func aLoneHumanGetsAnIdleRegisteredBotThroughTheRegistryRPCs() async throws {
        let harness = AppHarness()
        let store = harness.pass.backend.store
        try store.addUsers(["bot-x"])
        _ = store.leaseBots(owner: "bots-1", botIDs: ["bot-x"], leaseSeconds: 60)
        _ = store.readyBots(owner: "bots-1", botIDs: ["bot-x"])
        _ = try harness.pass.enqueue("lone", age: 6)
        let (report, paths) = try await passRequests(harness, batchSize: 10)
        #expect(report.botFills == 1)
        #expect(paths.contains("/rest/v1/rpc/idle_bots"))
        let room = try #require(report.rooms.first)
        #expect(room.name == "lone-bot-x" && room.ownerID == "lone")
        #expect(store.registeredBots["bot-x"]?.roomID == room.id, "claimed with the room")

        _ = try harness.pass.enqueue("late", age: 6)
        let (second, _) = try await passRequests(harness, batchSize: 10)
        #expect(second.rooms.isEmpty, "the only bot is in a room")
    }

    /// A pass over PostgREST costs a fixed number of requests whatever its size (issue 12): one read, one skip
    /// query, one bot query, one set-wise commit, one broadcast of every `stranger_matched`, one acknowledgement.
    @Test func aPassCostsTheSameRequestsForTenAndTwoHundredUsers() async throws {
        var bySize: [Int: [String]] = [:]
        for size in [10, 200] {
            let harness = AppHarness()
            for index in 0..<size { _ = try harness.pass.enqueue("u\(index)") }
            let (report, paths) = try await passRequests(harness, batchSize: size)
            #expect(report.pairedRooms == size / 2)
            #expect(harness.pass.backend.outboxBacklog() == 0, "every match acknowledged")
            bySize[size] = paths.sorted()
        }
        #expect(
            bySize[10]
                == [
                    "/rest/v1/rpc/read", "/rest/v1/skipped_pair", "/rest/v1/user", "/rest/v1/rpc/commit_stranger_matches",
                    "/realtime/v1/api/broadcast", "/rest/v1/rpc/ack_stranger_matches",
                ].sorted())
        #expect(bySize[200] == bySize[10])
    }

    /// Issue 12: users whose wait ran past `QUEUE_TTL` cost the same requests however many they are: one
    /// broadcast of their `stranger_no_matches` notices and one `drop_stranger_messages` for their messages.
    @Test func expiringTenOrTwoHundredUsersCostsTheSameRequests() async throws {
        var bySize: [Int: [String]] = [:]
        for size in [10, 200] {
            let harness = AppHarness()
            // Bots never pair with bots: every one of them is left over, and past QUEUE_TTL.
            for index in 0..<size {
                harness.pass.backend.store.addBot("b\(index)")
                _ = try harness.pass.enqueue("b\(index)", age: 120)
            }
            let (report, paths) = try await passRequests(harness, batchSize: size)
            #expect(report.pairedRooms == 0)
            #expect(report.expired == size)
            #expect(harness.pass.backend.pgmq.rows(harness.pass.backend.queueName).isEmpty, "every expired message deleted")
            bySize[size] = paths.sorted()
        }
        #expect(bySize[10]?.filter { $0 == "/rest/v1/rpc/drop_stranger_messages" }.count == 1)
        #expect(bySize[200] == bySize[10])
    }

    /// The undo itself fails: the room of a user who was never told stands after the pass, pending in the outbox;
    /// the relay claims it once the pass's claim runs out, still cannot tell u1, and undoes it.
    @Test func anUndoThatFailsIsFinishedByTheRelay() async throws {
        let harness = try faultScenario()
        let backend = harness.pass.backend
        try await withEmbeddedSupabase(harness) { transport, harness in
            let upstream = FaultyTransport(transport, faults: [("user:u1", [401]), ("rpc/delete_stranger_room", [500, 500, 500, 200])])
            let pass = supabasePass(
                transport: upstream, presence: .unavailable(reason: "test"), settings: harness.pass.settings, time: harness.pass.time)
            let report = try await pass.run()
            #expect(report.pairedRooms == 3)
            #expect(report.undone == 1)
            #expect(upstream.fired("user:u1") == 2, "401 is final: one attempt for the pass's batch, one for u1 alone")
            #expect(upstream.fired("rpc/delete_stranger_room") == 3, "the undo was tried 1 + 2 times")
            #expect(Set(backend.store.contents.members.values) == [["u0", "u1"], ["u2", "u3"], ["u4", "u5"], ["u6", "u7"]])
            #expect(backend.pgmq.rows(backend.queueName).isEmpty, "the commit consumed u0's and u1's messages")
            #expect(heard(upstream.delivered)["u0"] == ["stranger_matched", "stranger_skipped"])
            #expect(heard(upstream.delivered)["u1"] == nil)

            try await harness.pass.time.sleep(.seconds(61))
            let supabase = SupabaseBackend(transport: upstream, queueName: "stranger-queue", notifyPrivate: false)
            let relay = supabase.relay(settings: harness.pass.settings, maxAttempts: 1, time: harness.pass.time, logger: testLogger)
            let drained = try await relay.drain()
            #expect(drained.claimed == 1)
            #expect(drained.undone == 1)
            #expect(upstream.fired("user:u1") == 3)
            #expect(upstream.fired("rpc/delete_stranger_room") == 3, "the relay's undo went through")
            #expect(Set(backend.store.contents.members.values) == [["u2", "u3"], ["u4", "u5"], ["u6", "u7"]])
            #expect(
                queueState(backend, time: harness.pass.time)
                    == [.init(msgID: 1, readCount: 1, leased: false), .init(msgID: 2, readCount: 1, leased: false)])
            #expect(heard(upstream.delivered)["u0"] == ["stranger_matched", "stranger_skipped", "stranger_matched", "stranger_skipped"])
            expectNobodyIsLost(backend: backend, told: upstream.delivered)
        }
    }
}

/// u0…u7 queued 1 s ago, u8 70 s ago (past `QUEUE_TTL`), then one malformed message: msg_ids 1…9 and 10.
/// Presence is unavailable in these passes, so everyone counts as waiting: u0-u1, u2-u3, u4-u5 and u6-u7 pair,
/// u8 expires, message 10 is archived.
func faultScenario() throws -> AppHarness {
    let harness = AppHarness()
    let backend = harness.pass.backend
    for (index, user) in faultUsers.enumerated() { try harness.pass.enqueue(user, age: index == 8 ? 70 : 1) }
    _ = try backend.pgmq.send(backend.queueName, message: ["bad": true])
    return harness
}

let faultUsers = (0..<9).map { "u\($0)" }

/// The events each user heard, in order.
func heard(_ delivered: [UserNotification]) -> [String: [String]] {
    Dictionary(grouping: delivered, by: \.userID).mapValues { $0.map(\.event) }
}

/// The per-user invariant: every user is in at most one room, and then both members were told about that very room
/// and no message of theirs is queued; or is still queued; or was told `stranger_no_matches` and removed. Every
/// message is in exactly one place: queued, archived, consumed by a standing room, or deleted for its expired user.
func expectNobodyIsLost(backend: EmbeddedBackend, told: [UserNotification]) {
    let rows = backend.pgmq.rows(backend.queueName)
    let queued = Set(rows.compactMap { $0.message["userId"]?.stringValue })
    let members = backend.store.contents.members
    for user in faultUsers {
        let rooms = members.filter { $0.value.contains(user) }
        #expect(rooms.count <= 1, "\(user) is in \(rooms.count) rooms")
        if let entry = rooms.first {
            let (room, pair) = (entry.key, entry.value)
            for member in pair {
                let toldAboutIt = told.contains {
                    $0.userID == member && $0.event == "stranger_matched" && $0.payload["room"]?["id"]?.stringValue == room
                }
                #expect(toldAboutIt, "\(member) is in room \(room) but was never told about it")
            }
            #expect(!queued.contains(user), "\(user) is in a room and still queued")
        } else if !queued.contains(user) {
            #expect(
                told.contains { $0.userID == user && $0.event == "stranger_no_matches" },
                "\(user) is lost: no room, not queued, not told that the queue expired")
        }
    }
    let inRooms = Set(members.values.joined())
    let expiredUsers = Set(told.filter { $0.event == "stranger_no_matches" }.map(\.userID)).subtracting(queued)
    let archived = backend.pgmq.archived(backend.queueName).map(\.msgID)
    var places: [Int64: Int] = [:]
    for id in rows.map(\.msgID) + archived { places[id, default: 0] += 1 }
    for (index, user) in faultUsers.enumerated() where inRooms.contains(user) || expiredUsers.contains(user) {
        places[Int64(index + 1), default: 0] += 1
    }
    #expect(places == Dictionary(uniqueKeysWithValues: (1...10).map { (Int64($0), 1) }), "each message in exactly one place")
}

/// The queue as a fixture records it: each message with its read count, leased while hidden at `time`'s now.
func queueState(_ backend: EmbeddedBackend, time: Timekeeper) -> [Fixture.Remaining] {
    let now = time.now()
    return backend.pgmq.rows(backend.queueName).map {
        Fixture.Remaining(msgID: $0.msgID, readCount: $0.readCount, leased: $0.visibleAt > now)
    }
}

/// A fault in front of the calls of `faultScenario`'s pass, and everything that must follow it exactly.
struct FaultCase: Sendable, CustomTestStringConvertible {
    /// Fragment (of path or body) → script of outcomes (HTTP status, 0 for a timeout); the last repeats.
    var faults: [(String, [Int])]
    /// Fragment → injected failures the upstream must have seen: proof that the fault fired.
    var fired: [String: Int]
    /// The 500 body's `message`, when the pass must fail.
    var passError: String?
    /// Rooms standing after the pass, as `[user1, user2]`.
    var rooms: Set<[String]> = FaultCase.allRooms
    /// Pairs undone.
    var undone = 0
    /// Users told `stranger_no_matches` and removed.
    var expired = 1
    /// True when the pass ran without the skip ledger.
    var skipsUnavailable = false
    /// Notification attempts that failed.
    var failedNotificationAttempts = 0
    /// Events each user heard, in order.
    var told: [String: [String]] = FaultCase.everyoneTold
    /// The queue afterwards.
    var queue: [Fixture.Remaining] = []
    /// Archived message ids.
    var archived: [Int64] = [10]
    /// Matches committed and never acknowledged.
    var pending = 0
    /// The case's name in the test report.
    var testDescription: String

    static let allRooms: Set<[String]> = [["u0", "u1"], ["u2", "u3"], ["u4", "u5"], ["u6", "u7"]]
    static let everyoneTold: [String: [String]] = Dictionary(
        uniqueKeysWithValues: (0..<8).map { ("u\($0)", ["stranger_matched"]) } + [("u8", ["stranger_no_matches"])])

    /// Messages 1…8 after their pairs were undone: queued again, visible at once, read once.
    static let usersQueuedAgain = (1...8).map { Fixture.Remaining(msgID: Int64($0), readCount: 1, leased: false) }

    static let all: [FaultCase] = [
        // Reads are retried twice (store backoff); past that the pass fails and touches nothing.
        FaultCase(
            faults: [("rpc/read", [500])], fired: ["rpc/read": 3], passError: "Failed to read queue", rooms: [], expired: 0, told: [:],
            queue: (1...10).map { .init(msgID: Int64($0), readCount: 0, leased: false) }, archived: [],
            testDescription: "read 500 for good: the pass fails after 3 attempts"),
        FaultCase(faults: [("rpc/read", [429, 200])], fired: ["rpc/read": 1], testDescription: "read 429 once: retried"),
        FaultCase(
            faults: [("rpc/read", [0])], fired: ["rpc/read": 3], passError: "Failed to read queue", rooms: [], expired: 0, told: [:],
            queue: (1...10).map { .init(msgID: Int64($0), readCount: 0, leased: false) }, archived: [],
            testDescription: "read times out for good: the pass fails after 3 attempts"),
        // The skip ledger and the bot lookup are read once; without them the pass still pairs.
        FaultCase(
            faults: [("skipped_pair", [500])], fired: ["skipped_pair": 1], skipsUnavailable: true,
            testDescription: "skip ledger 500: pairs without it"),
        FaultCase(faults: [("/rest/v1/user", [503])], fired: ["/rest/v1/user": 1], testDescription: "bot lookup 503: pairs without it"),
        // The pass's one set-wise commit fails three times: nothing is written, every pair's users stay queued
        // under the pass's lease.
        FaultCase(
            faults: [("rpc/commit_stranger_matches", [500])], fired: ["rpc/commit_stranger_matches": 3], rooms: [], undone: 4,
            told: ["u8": ["stranger_no_matches"]], queue: (1...8).map { .init(msgID: Int64($0), readCount: 1, leased: true) },
            testDescription: "commit 500 for good: one call × 3 attempts, nothing written, all still queued"),
        FaultCase(
            faults: [("rpc/commit_stranger_matches", [0, 200])], fired: ["rpc/commit_stranger_matches": 1],
            testDescription: "commit times out once: retried"),
        FaultCase(
            faults: [("rpc/commit_stranger_matches", [500, 500, 200])], fired: ["rpc/commit_stranger_matches": 2],
            testDescription: "commit 500 twice: retried"),
        // 401 is final: one attempt for the batch of 8 matched notices, then one for each of them alone, every
        // pair undone; one for u8's notice in a batch and one alone, u8 kept (never told, so not removed).
        FaultCase(
            faults: [("api/broadcast", [401])], fired: ["api/broadcast": 11], rooms: [], undone: 4, expired: 0,
            failedNotificationAttempts: 11, told: [:],
            queue: usersQueuedAgain + [.init(msgID: 9, readCount: 1, leased: true)],
            testDescription: "broadcast 401: one attempt each, every pair undone"),
        FaultCase(
            faults: [("api/broadcast", [429, 202])], fired: ["api/broadcast": 1], failedNotificationAttempts: 1,
            testDescription: "broadcast 429 once: retried"),
        // 500 is retried: 4 attempts (NOTIFY_MAX_RETRIES 3) for the batch of 8, then for each of the 8 alone, then
        // for u8's batch of one and u8 alone: 11 × 4.
        FaultCase(
            faults: [("api/broadcast", [500])], fired: ["api/broadcast": 44], rooms: [], undone: 4, expired: 0,
            failedNotificationAttempts: 44, told: [:],
            queue: usersQueuedAgain + [.init(msgID: 9, readCount: 1, leased: true)],
            testDescription: "broadcast 500 for good: 9 × 4 attempts, every pair undone"),
        FaultCase(
            faults: [("api/broadcast", [0, 0, 0, 202])], fired: ["api/broadcast": 3], failedNotificationAttempts: 3,
            testDescription: "broadcast times out three times: retried"),
        // Both users were told; only the acknowledgement is missing, so the matches stay pending for the relay.
        FaultCase(
            faults: [("rpc/ack_stranger_matches", [500])], fired: ["rpc/ack_stranger_matches": 3], pending: 4,
            testDescription: "ack 500 for good: one call × 3 attempts, rooms stand, 4 matches left pending"),
        FaultCase(
            // `drop_stranger_messages` archives or deletes; the body's flag tells the two calls apart.
            faults: [(#""archive":true"#, [500])], fired: [#""archive":true"#: 3], queue: [.init(msgID: 10, readCount: 1, leased: true)],
            archived: [], testDescription: "archive 500 for good: the malformed message stays leased"),
        // u8 was told but not removed: he stays queued, leased, and hears it again after the lease.
        FaultCase(
            faults: [(#""archive":false"#, [502])], fired: [#""archive":false"#: 3], expired: 0,
            queue: [.init(msgID: 9, readCount: 1, leased: true)], testDescription: "delete 502 for good: u8 told, still queued"),
        // u1 cannot be told (401): the batch that carries u1's notice is refused, each pair is then told alone,
        // and u0-u1 is undone; the undo fails once and is retried.
        FaultCase(
            faults: [("user:u1", [401]), ("rpc/delete_stranger_room", [500, 200])],
            fired: ["user:u1": 2, "rpc/delete_stranger_room": 1], rooms: [["u2", "u3"], ["u4", "u5"], ["u6", "u7"]], undone: 1,
            failedNotificationAttempts: 2,
            told: FaultCase.everyoneTold.filter { $0.key != "u1" }.merging(["u0": ["stranger_matched", "stranger_skipped"]]) { $1 },
            queue: [.init(msgID: 1, readCount: 1, leased: false), .init(msgID: 2, readCount: 1, leased: false)],
            testDescription: "u1 untold and the undo 500 once: u0-u1 undone on retry, u0 told skipped"),
    ]
}

@Suite(.serialized) struct SupabaseConcurrencyTests {
    /// Several matchers, each its own pass and HTTP client, over one embedded Supabase: the commit RPC arbitrates.
    @Test func manyMatchersThroughTheSupabaseBackendNeverDoubleMatchOrLoseAUser() async throws {
        let harness = AppHarness()
        let users = (0..<300).map { "u\($0)" }
        for user in users { try harness.pass.enqueue(user) }
        for index in stride(from: 0, to: 60, by: 2) {
            try harness.pass.backend.store.addSkip("u\(index)", "u\(index + 1)", at: harness.pass.now.addingTimeInterval(-2))
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
