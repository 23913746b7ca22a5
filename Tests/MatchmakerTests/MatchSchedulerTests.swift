import EmbeddedSupabase
import Foundation
import MatchmakerCore
import ServiceLifecycle
import Shared
import Synchronization
import TestSupport
import Testing

/// Time that only moves when the test says so: each `sleep` waits for one `tick()`.
final class SteppedTime: Sendable {
    private let ticks: AsyncStream<Void>
    private let ticker: AsyncStream<Void>.Continuation
    private let sleepers: AsyncStream<Duration>.Continuation
    let sleeps: AsyncStream<Duration>

    init() {
        (ticks, ticker) = AsyncStream.makeStream(of: Void.self)
        (sleeps, sleepers) = AsyncStream.makeStream(of: Duration.self)
    }

    func tick() { ticker.yield() }

    var timekeeper: Timekeeper {
        Timekeeper(now: { Date(timeIntervalSince1970: 1_800_000_000) }) { [self] duration in
            sleepers.yield(duration)
            var iterator = ticks.makeAsyncIterator()
            guard await iterator.next() != nil else { throw CancellationError() }
            try Task.checkCancellation()
        }
    }
}

@Suite struct MatchSchedulerTests {
    @Test(.timeLimit(.minutes(1)))
    func runsAPassEveryIntervalAndStopsOnShutdown() async throws {
        let harness = PassHarness()
        try harness.enqueue("alice")
        try harness.enqueue("bob")
        let runner = PassRunner(pass: harness.pass())
        let time = SteppedTime()
        let scheduler = MatchScheduler(runner: runner, interval: .seconds(2), time: time.timekeeper, logger: testLogger)
        let group = ServiceGroup(services: [scheduler], logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var sleeps = time.sleeps.makeAsyncIterator()
            #expect(await sleeps.next() == .seconds(2))
            #expect(runner.stats.snapshot.passes == 0, "no pass before the first interval")
            time.tick()
            #expect(await sleeps.next() == .seconds(2))
            #expect(runner.stats.snapshot.passes == 1)
            #expect(runner.stats.snapshot.rooms == 1)
            time.tick()
            #expect(await sleeps.next() == .seconds(2))
            #expect(runner.stats.snapshot.passes == 2)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// The timing of a bot fill on the schedule alone (`MATCH_ON_EVENTS=false`), on the test clock: a human alone in
    /// the queue meets a waiting bot at the first scheduled pass at or after `BOT_FILL_AFTER`, and not one pass
    /// earlier. With events on, the trigger fills them at `BOT_FILL_AFTER` itself
    /// (`PassTriggerTests.aLoneHumanMeetsABotAtBotFillAfterNotAtTheNextInterval`).
    @Test(.timeLimit(.minutes(1)))
    func onTheScheduleAloneALoneHumanMeetsABotAtTheFirstPassAfterBotFillAfter() async throws {
        let time = ManualTime()
        let arrived = time.now
        let backend = EmbeddedBackend(time: time.timekeeper)
        backend.store.addBot("bot-a")
        _ = try backend.pgmq.insert(backend.queueName, message: ["userId": "bot-a"], enqueuedAt: arrived.addingTimeInterval(-20))
        _ = try backend.pgmq.insert(backend.queueName, message: ["userId": "hugo"], enqueuedAt: arrived)
        backend.presence.set(.available(["bot-a": [["status": "waiting", "user_id": "bot-a"]], "hugo": [["status": "waiting"]]]))
        var settings = MatchPass.Settings()
        settings.attemptTimeout = nil
        settings.policy.botFillAfter = 0.5
        let runner = PassRunner(
            pass: MatchPass(ports: backend.ports, settings: settings, time: time.timekeeper, logger: testLogger, unit: { 0.5 }))
        let scheduler = MatchScheduler(runner: runner, interval: .milliseconds(125), time: time.timekeeper, logger: testLogger)
        let group = ServiceGroup(services: [scheduler], logger: testLogger)
        var roomsBeforeEachPass: [Int] = []
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // Each sleep is announced after the pass before it has finished, so the room count is read between passes.
            for await sleep in time.sleeps {
                roomsBeforeEachPass.append(runner.stats.snapshot.rooms)
                if runner.stats.snapshot.rooms > 0 { break }
                time.advance(by: sleep)
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        // Passes every 125 ms (exact in binary, so the clock lands on 0.5 s exactly): the fourth pass pairs them.
        #expect(roomsBeforeEachPass == [0, 0, 0, 0, 1], "paired by the fourth pass (0.5 s), not by the third (0.375 s)")
        let room = try #require(backend.store.contents.rooms.values.first)
        #expect(room.name == "bot-a-hugo")
        #expect(abs(room.createdAt.timeIntervalSince(arrived) - 0.5) < 1e-6, "waited \(room.createdAt.timeIntervalSince(arrived)) s")
        #expect(backend.notifier.log.map(\.userID).sorted() == ["bot-a", "hugo"])
    }
}
