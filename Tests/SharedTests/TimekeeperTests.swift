import Foundation
import Shared
import Synchronization
import Testing

/// Sleeping until a deadline, racing an operation against one, and the real clock's sleep.
@Suite struct TimekeeperTests {
    @Test func sleepingUntilADeadlineMadeAsNowPlusADelayWaitsExactlyTheDelay() async throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000).addingTimeInterval(2)
        let waits = Mutex<[Duration]>([])
        let time = Timekeeper(now: { now }, sleep: { duration in waits.withLock { $0.append(duration) } })
        let delays: [Duration] = [.seconds(8), .seconds(double: 4.6), .seconds(double: 10.16), .milliseconds(1)]
        for delay in delays { try await time.sleep(until: now.addingTimeInterval(delay.seconds)) }
        try await time.sleep(until: now)
        try await time.sleep(until: now.addingTimeInterval(-1))
        #expect(waits.withLock { $0 } == delays)
    }

    @Test func aDeadlineEndsAnOperationStillRunning() async {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let time = Timekeeper.virtual(start: start)
        let (never, source) = AsyncStream.makeStream(of: Void.self)
        defer { source.finish() }
        let error = await #expect(throws: TimeoutError.self) {
            try await withDeadline(start.addingTimeInterval(3), time: time) {
                for await _ in never {}
            }
        }
        #expect(error?.limit == .seconds(3))
        #expect(time.now() == start.addingTimeInterval(3))
    }

    @Test func theRealClocksSleepWaitsItsDuration() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        try await Timekeeper.system.sleep(.milliseconds(50))
        #expect(clock.now - start >= .milliseconds(50))
    }

    /// A cancelled sleep ends at once (what it kept until its deadline is measured by the socket churn test in
    /// Tests/conformance/test_hostile.py).
    @Test func aCancelledSleepEndsAtOnce() async throws {
        let clock = ContinuousClock()
        let start = clock.now
        let sleeper = Task { try await Timekeeper.system.sleep(.seconds(3600)) }
        try await Task.sleep(for: .milliseconds(50))
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        let cancelledBeforeStart = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await Timekeeper.system.sleep(.seconds(3600))
        }
        await #expect(throws: CancellationError.self) { try await cancelledBeforeStart.value }
        #expect(clock.now - start < .seconds(10))
    }
}
