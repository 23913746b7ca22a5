import Foundation
import Shared
import Synchronization
import Testing

/// Sleeping until a deadline, and racing an operation against one.
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
}
