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
}
