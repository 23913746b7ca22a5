import EmbeddedSupabase
import Foundation
import Logging
import MatchmakerCore
import Metrics
import Shared
import TestSupport
import Testing

/// A pass on the embedded backend, in process, on virtual time.
struct PassHarness {
    let now: Date
    let time: Timekeeper
    let backend: EmbeddedBackend
    var settings = MatchPass.Settings()

    init(now: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        self.now = now
        time = .virtual(start: now)
        backend = EmbeddedBackend(time: time)
        settings.attemptTimeout = nil
    }

    /// Queues `user` as the app does: signed in first (a `user` row, which the room's foreign keys need),
    /// then the queue message.
    @discardableResult
    func enqueue(_ user: String, continent: String = "World", age: Double = 1) throws -> Int64 {
        try backend.store.addUsers([user])
        return try backend.pgmq.insert(
            backend.queueName, message: ["userId": .string(user), "continent": .string(continent)], enqueuedAt: now.addingTimeInterval(-age)
        )
    }

    func pass(seed: UInt64 = 1) -> MatchPass {
        MatchPass(
            ports: backend.ports, settings: settings, time: time, roomIDs: RoomIDSource(seed: seed),
            metrics: MatchMetrics(factory: NOOPMetricsHandler.instance), logger: testLogger, unit: { 0.5 }
        )
    }

    var queued: [Int64] { backend.pgmq.rows(backend.queueName).map(\.msgID) }
    func delivered(_ event: String) -> [String] { backend.notifier.log.filter { $0.event == event }.map(\.userID).sorted() }
}

@Suite struct MatchPassTests {
    @Test func pairsNotifiesBothAndDeletesTheirMessages() async throws {
        let harness = PassHarness()
        try harness.enqueue("alice")
        try harness.enqueue("bob")
        let report = try await harness.pass().run()
        #expect(report.pairedRooms == 1)
        #expect(report.processedMessages == 2)
        let room = try #require(report.rooms.first)
        #expect(room.name == "alice-bob")
        #expect(room.ownerID == "alice")
        #expect(RoomIDGenerator.isValid(room.id))
        #expect(harness.delivered("stranger_matched") == ["alice", "bob"])
        let payload = try #require(harness.backend.notifier.log.first?.payload["room"])
        #expect(payload == (try JSONValue(encoding: room)))
        #expect(harness.queued.isEmpty)
        #expect(harness.backend.store.contents.members[room.id] == ["alice", "bob"])
    }

    @Test func anEmptyQueueIsReportedAsSuch() async throws {
        let report = try await PassHarness().pass().run()
        #expect(report.totalUsers == 0)
        #expect(
            try JSONCoding.string(report.responseBody)
                == #"{"message":"No users in queue","stats":{"pairedRooms":0,"processedMessages":0,"totalUsers":0},"success":true}"#)
    }

    @Test func aNotificationThatFailsThenSucceedsIsRetried() async throws {
        let harness = PassHarness()
        try harness.enqueue("alice")
        try harness.enqueue("bob")
        harness.backend.faults.script(.notify(user: "bob"), [.error, .rateLimited, .ok])
        let report = try await harness.pass().run()
        #expect(report.pairedRooms == 1)
        #expect(report.failedNotificationAttempts == 2)
        #expect(harness.delivered("stranger_matched") == ["alice", "bob"])
        #expect(harness.queued.isEmpty)
    }

    /// Original bug 4: a failed notification left a room nobody was told about, and deleted the messages.
    @Test func aNotificationThatNeverSucceedsUndoesTheRoomAndKeepsBothQueued() async throws {
        let harness = PassHarness()
        try harness.enqueue("alice")
        try harness.enqueue("bob")
        harness.backend.faults.script(.notify(user: "bob"), [.error])
        let report = try await harness.pass().run()
        #expect(report.pairedRooms == 0)
        #expect(report.undone == 1)
        #expect(report.failedNotificationAttempts == 4, "one attempt and three retries")
        #expect(harness.backend.store.contents.rooms.isEmpty)
        #expect(harness.delivered("stranger_matched") == ["alice"])
        #expect(harness.delivered("stranger_skipped") == ["alice"], "alice was told, so she is told it is off")
        #expect(harness.queued == [1, 2], "both messages are queued again under their own ids")
    }

    @Test func anUnauthorizedNotificationIsNotRetried() async throws {
        let harness = PassHarness()
        try harness.enqueue("alice")
        try harness.enqueue("bob")
        harness.backend.faults.script(.notify(user: "alice"), [.unauthorized])
        let report = try await harness.pass().run()
        #expect(report.undone == 1)
        #expect(report.failedNotificationAttempts == 1)
    }

    @Test func aRoomThatCannotBeWrittenLeavesNothingBehind() async throws {
        let harness = PassHarness()
        try harness.enqueue("alice")
        try harness.enqueue("bob")
        harness.backend.faults.script(.createRoom(user: "bob"), [.error])
        let report = try await harness.pass().run()
        #expect(report.undone == 1)
        #expect(report.unprocessedUsers == 2)
        #expect(harness.backend.store.contents.rooms.isEmpty)
        #expect(harness.backend.notifier.log.isEmpty)
        #expect(harness.queued == [1, 2])
    }

    @Test func aQueueThatCannotBeReadFailsThePass() async throws {
        let harness = PassHarness()
        try harness.enqueue("alice")
        harness.backend.faults.script(.read, [.error])
        await #expect(throws: PassError.self) { try await harness.pass().run() }
    }

    @Test func aQueueReadThatRecoversOnRetrySucceeds() async throws {
        let harness = PassHarness()
        try harness.enqueue("alice")
        try harness.enqueue("bob")
        harness.backend.faults.script(.read, [.error, .ok])
        #expect(try await harness.pass().run().pairedRooms == 1)
    }

    @Test func expiredUsersAreToldAndRemoved() async throws {
        let harness = PassHarness()
        try harness.enqueue("old", age: 75)
        let report = try await harness.pass().run()
        #expect(report.expired == 1)
        #expect(harness.delivered("stranger_no_matches") == ["old"])
        #expect(harness.queued.isEmpty)
    }

    @Test func anExpiredUserWhoCannotBeToldStaysQueued() async throws {
        let harness = PassHarness()
        try harness.enqueue("old", age: 75)
        harness.backend.faults.script(.notify(user: "old"), [.error])
        let report = try await harness.pass().run()
        #expect(report.expired == 0)
        #expect(harness.queued == [1])
    }

    @Test func malformedMessagesAreArchivedNeverLost() async throws {
        let harness = PassHarness()
        _ = try harness.backend.pgmq.send(harness.backend.queueName, message: ["user": "x"])
        _ = try harness.backend.pgmq.send(harness.backend.queueName, message: "not an object")
        let report = try await harness.pass().run()
        #expect(report.malformed == 2)
        #expect(harness.queued.isEmpty)
        #expect(harness.backend.pgmq.archived(harness.backend.queueName).map(\.msgID) == [1, 2])
    }

    /// Original bug 3 / §2.9: with presence down, unmatched users were deleted as "stale".
    @Test func unmatchedUsersStayQueuedWhenPresenceIsDown() async throws {
        let harness = PassHarness()
        for user in ["a", "b", "c"] { try harness.enqueue(user, age: 40) }
        let report = try await harness.pass().run()
        #expect(report.degraded)
        #expect(report.pairedRooms == 1)
        #expect(harness.queued == [3])
    }

    @Test func staleUsersAreDroppedWhenPresenceSaysTheyLeft() async throws {
        let harness = PassHarness()
        harness.backend.presence.set(.available(["a": [["status": "waiting"]]]))
        try harness.enqueue("a", age: 40)
        try harness.enqueue("gone", age: 40)
        let report = try await harness.pass().run()
        #expect(report.stale == 1)
        #expect(!report.degraded)
        #expect(harness.queued == [1])
    }

    /// Original bug 1: reads without a lease let overlapping runs match the same user twice.
    @Test func overlappingPassesNeverMatchAUserTwice() async throws {
        let harness = PassHarness()
        for index in 0..<200 { try harness.enqueue("u\(index)") }
        let reports = try await withThrowingTaskGroup(of: PassReport.self) { group in
            for seed in 1...4 { group.addTask { try await harness.pass(seed: UInt64(seed)).run() } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let members = reports.flatMap(\.rooms).flatMap { $0.name.split(separator: "-").map(String.init) }
        #expect(members.count == 200)
        #expect(Set(members).count == 200)
        #expect(reports.map(\.totalUsers).reduce(0, +) == 200, "each message leased by exactly one pass")
    }

    /// The commit consumed both messages; the undo puts them back as they were (ids, enqueue times, read
    /// counts), visible at once, so the next pass pairs the users again without waiting for a lease to end.
    @Test func anUndonePairIsQueuedAgainAtOnce() async throws {
        let harness = PassHarness()
        try harness.enqueue("alice", age: 3)
        try harness.enqueue("bob", age: 2)
        harness.backend.faults.script(.notify(user: "bob"), [.error, .error, .error, .error, .ok])
        #expect(try await harness.pass().run().undone == 1)
        let rows = harness.backend.pgmq.rows(harness.backend.queueName)
        #expect(rows.map(\.msgID) == [1, 2])
        #expect(rows.map(\.readCount) == [1, 1])
        #expect(rows.map(\.enqueuedAt) == [harness.now.addingTimeInterval(-3), harness.now.addingTimeInterval(-2)])
        #expect(rows.allSatisfy { $0.visibleAt <= harness.time.now() })
        let retry = try await harness.pass().run()
        #expect(retry.pairedRooms == 1)
        #expect(harness.queued.isEmpty)
    }

    /// Skip flows enqueue twice: a match takes every message of both users, leased by this pass or not.
    @Test func aMatchConsumesTheUsersMessagesOutsideTheLeaseToo() async throws {
        var harness = PassHarness()
        harness.settings.batchSize = 2
        try harness.enqueue("alice")
        try harness.enqueue("bob")
        try harness.enqueue("alice")
        try harness.enqueue("carol")
        let report = try await harness.pass().run()
        #expect(report.pairedRooms == 1)
        #expect(harness.queued == [4])
    }

    /// The pass acknowledges a match it delivered: no relay tells its users again.
    @Test func aDeliveredMatchLeavesNothingForTheRelay() async throws {
        let harness = PassHarness()
        try harness.enqueue("alice")
        try harness.enqueue("bob")
        #expect(try await harness.pass().run().pairedRooms == 1)
        try await harness.time.sleep(.seconds(120))
        #expect(harness.backend.store.claimStrangerMatches(claimSeconds: 30, limit: 10).isEmpty)
    }

    /// A lease held for the whole `QUEUE_LEASE_SECONDS` would hide a lone user from the next passes:
    /// two users arriving a few seconds apart could keep missing each other, lease after lease.
    @Test func aUserLeftWaitingIsVisibleToTheNextPassAtOnce() async throws {
        let harness = PassHarness()
        try harness.enqueue("alice")
        let first = try await harness.pass().run()
        #expect(first.totalUsers == 1 && first.pairedRooms == 0)
        let alice = try #require(harness.backend.pgmq.rows(harness.backend.queueName).first)
        #expect(alice.visibleAt <= harness.time.now(), "released, not leased for 30 s")
        #expect(alice.readCount == 1)

        try await harness.time.sleep(.seconds(2))
        try harness.enqueue("bob")
        let second = try await harness.pass().run()
        #expect(second.rooms.map(\.name) == ["alice-bob"])
        #expect(harness.queued.isEmpty)
    }

    @Test func aDuplicateOfAUserLeftWaitingIsReleasedToo() async throws {
        let harness = PassHarness()
        try harness.enqueue("alice", age: 2)
        try harness.enqueue("alice", age: 1)
        _ = try await harness.pass().run()
        let rows = harness.backend.pgmq.rows(harness.backend.queueName)
        #expect(rows.count == 2)
        #expect(rows.allSatisfy { $0.visibleAt <= harness.time.now() })
    }

    @Test func aReleaseNeverEndsAnotherReadersLease() async throws {
        let harness = PassHarness()
        let pgmq = harness.backend.pgmq
        let queue = harness.backend.queueName
        let id = try harness.enqueue("alice")
        let ours = try #require(try pgmq.read(queue, visibilityTimeout: 30, count: 1).first)
        // Our lease ended long ago and another reader leased the message again.
        try await harness.time.sleep(.seconds(31))
        let theirs = try #require(try pgmq.read(queue, visibilityTimeout: 30, count: 1).first)
        #expect(try pgmq.release(queue, msgIDs: [id], leasedUntil: ours.visibleAt) == 0)
        #expect(pgmq.rows(queue).first?.visibleAt == theirs.visibleAt)
        #expect(try pgmq.release(queue, msgIDs: [id], leasedUntil: theirs.visibleAt) == 1)
        #expect(try pgmq.read(queue, visibilityTimeout: 30, count: 1).map(\.msgID) == [id])
    }

    @Test func aReleaseThatFailsLeavesTheUserLeasedNotLost() async throws {
        let harness = PassHarness()
        try harness.enqueue("alice")
        var ports = harness.backend.ports
        ports.queue = UnreleasableQueue(inner: ports.queue)
        let report = try await MatchPass(ports: ports, settings: harness.settings, time: harness.time, logger: testLogger, unit: { 0.5 })
            .run()
        #expect(report.unprocessedUsers == 1)
        #expect(harness.queued.count == 1, "still queued")
        try await harness.time.sleep(.seconds(31))
        #expect(try await harness.pass().run().totalUsers == 1, "back when the lease ends")
    }
}

/// A queue whose release always fails, wrapped around the embedded one.
struct UnreleasableQueue: MatchQueue {
    let inner: any MatchQueue

    func lease(count: Int, leaseSeconds: Int) async throws -> [QueueRow] { try await inner.lease(count: count, leaseSeconds: leaseSeconds) }
    func delete(_ msgIDs: [Int64]) async throws { try await inner.delete(msgIDs) }
    func archive(_ msgIDs: [Int64]) async throws { try await inner.archive(msgIDs) }
    func release(_ msgIDs: [Int64], leasedUntil: Date) async throws -> Int {
        throw ReleaseFailed()
    }

    struct ReleaseFailed: Error {}
}

/// A notifier that holds every delivery until released: lets a test stop a pass in the middle.
final class GatedNotifier: Notifier {
    private let events: AsyncStream<String>.Continuation
    private let gate: AsyncStream<Void>
    private let opener: AsyncStream<Void>.Continuation
    let log: AsyncStream<String>

    init() {
        (log, events) = AsyncStream.makeStream(of: String.self)
        (gate, opener) = AsyncStream.makeStream(of: Void.self)
    }

    func open() { opener.finish() }

    func send(_ notification: UserNotification) async throws {
        events.yield("notify \(notification.userID)")
        for await _ in gate {}
    }
}

/// A queue that reports each lease, wrapped around the embedded one.
struct ReportingQueue: MatchQueue {
    let inner: any MatchQueue
    let events: AsyncStream<String>.Continuation

    func lease(count: Int, leaseSeconds: Int) async throws -> [QueueRow] {
        let rows = try await inner.lease(count: count, leaseSeconds: leaseSeconds)
        events.yield("lease \(rows.map(\.msgID))")
        return rows
    }
    func delete(_ msgIDs: [Int64]) async throws { try await inner.delete(msgIDs) }
    func archive(_ msgIDs: [Int64]) async throws { try await inner.archive(msgIDs) }
    func release(_ msgIDs: [Int64], leasedUntil: Date) async throws -> Int {
        try await inner.release(msgIDs, leasedUntil: leasedUntil)
    }
}

@Suite struct PassRunnerTests {
    @Test func aSecondCallWaitsForTheRunningPass() async throws {
        let harness = PassHarness()
        for index in 0..<4 { try harness.enqueue("u\(index)") }
        let notifier = GatedNotifier()
        let (leases, leaseEvents) = AsyncStream.makeStream(of: String.self)
        var ports = harness.backend.ports
        ports.notifier = notifier
        ports.queue = ReportingQueue(inner: ports.queue, events: leaseEvents)
        var settings = harness.settings
        settings.batchSize = 2
        let runner = PassRunner(pass: MatchPass(ports: ports, settings: settings, time: harness.time, logger: testLogger))

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = try await runner.run() }
            var notifications = notifier.log.makeAsyncIterator()
            _ = await notifications.next()
            // The first pass is now parked inside a notification; start a second one and wait until the runner
            // holds it back (a count no event announces).
            #expect(runner.waiting == 0)
            group.addTask { _ = try await runner.run() }
            try await eventually { runner.waiting == 1 }
            var leaseLog = leases.makeAsyncIterator()
            #expect(await leaseLog.next() == "lease [1, 2]")
            let rows = harness.backend.pgmq.rows(harness.backend.queueName)
            #expect(rows.map(\.msgID) == [3, 4], "the first pass's commit consumed 1 and 2")
            #expect(rows.map(\.readCount) == [0, 0], "the waiting call has not leased 3 and 4")
            #expect(runner.stats.snapshot.passes == 0, "the first pass is still running")
            notifier.open()
            try await group.waitForAll()
            #expect(await leaseLog.next() == "lease [3, 4]")
            #expect(runner.waiting == 0)
        }
        #expect(runner.stats.snapshot.passes == 2)
    }

    /// A runner over a pass with u0 and u1 queued whose notifications wait until the test opens the gate.
    private func gatedRunner(maxWaiting: Int = 256) throws -> (PassHarness, GatedNotifier, PassRunner) {
        let harness = PassHarness()
        try harness.enqueue("u0")
        try harness.enqueue("u1")
        let notifier = GatedNotifier()
        var ports = harness.backend.ports
        ports.notifier = notifier
        let pass = MatchPass(ports: ports, settings: harness.settings, time: harness.time, logger: testLogger)
        return (harness, notifier, PassRunner(pass: pass, maxWaiting: maxWaiting))
    }

    /// Callers that arrive while a pass runs share the next pass: it starts after they all arrived (it sees a pair
    /// enqueued after their calls), they all get its one report, and it counts once.
    @Test(.timeLimit(.minutes(1)))
    func callersArrivingDuringAPassShareTheNextPass() async throws {
        let (harness, notifier, runner) = try gatedRunner()
        let (first, shared) = try await withThrowingTaskGroup(of: (Bool, PassReport).self) { group in
            group.addTask { (true, try await runner.run()) }
            var notifications = notifier.log.makeAsyncIterator()
            _ = await notifications.next()
            for _ in 0..<5 { group.addTask { (false, try await runner.run()) } }
            try await eventually { runner.waiting == 5 }
            // Enqueued after every waiting call arrived: the shared pass must still see it.
            try harness.enqueue("u2")
            try harness.enqueue("u3")
            notifier.open()
            var first: PassReport?
            var shared: [PassReport] = []
            for try await (isFirst, report) in group {
                if isFirst { first = report } else { shared.append(report) }
            }
            return (try #require(first), shared)
        }
        #expect(first.rooms.map(\.name) == ["u0-u1"])
        #expect(shared.count == 5)
        #expect(Set(shared).count == 1, "all five got the same report")
        #expect(shared.first?.rooms.map(\.name) == ["u2-u3"], "the shared pass started after they arrived")
        #expect(runner.stats.snapshot.passes == 2, "one pass for the first caller, one shared by the other five")
        #expect(runner.stats.snapshot.rooms == 2)
        #expect(runner.waiting == 0)
    }

    /// The cap: with one caller waiting and a cap of one, the next is refused at once.
    @Test(.timeLimit(.minutes(1)))
    func aCallerBeyondTheCapIsRefused() async throws {
        let (_, notifier, runner) = try gatedRunner(maxWaiting: 1)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { _ = try await runner.run() }
            var notifications = notifier.log.makeAsyncIterator()
            _ = await notifications.next()
            group.addTask { _ = try await runner.run() }
            try await eventually { runner.waiting == 1 }
            await #expect(throws: PassRunnerBusy.self) { try await runner.run() }
            notifier.open()
            try await group.waitForAll()
        }
        #expect(runner.stats.snapshot.passes == 2)
    }
}
