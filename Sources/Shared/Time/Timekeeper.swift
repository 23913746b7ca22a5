import Foundation
import Synchronization

/// Wall-clock time and sleeping, injected so that passes, retries and schedules run on virtual time in tests.
public struct Timekeeper: Sendable {
    /// The current wall-clock instant.
    public let now: @Sendable () -> Date
    /// Suspends for a duration (or returns at once on virtual time).
    public let sleep: @Sendable (Duration) async throws -> Void

    /// Creates a timekeeper from its two functions.
    public init(now: @escaping @Sendable () -> Date, sleep: @escaping @Sendable (Duration) async throws -> Void) {
        self.now = now
        self.sleep = sleep
    }

    /// Suspends until `deadline` on this clock; returns at once when it has passed.
    ///
    /// The wait is counted in whole microseconds: a `Date` of this era resolves about 0.1 µs, so the digits below
    /// are rounding noise, and a deadline made as `now + d` is reached after exactly `d`.
    public func sleep(until deadline: Date) async throws {
        let wait = Duration.microseconds(Int64((deadline.timeIntervalSince(now()) * 1e6).rounded()))
        if wait > .zero { try await sleep(wait) }
    }

    /// Real time.
    public static let system = Timekeeper(now: { Date() }, sleep: { try await CancellableSleep.sleep(for: $0) })

    /// Virtual time starting at `start`: sleeping returns at once and moves the clock forward.
    ///
    /// Fixtures replay on this clock, so a pass with retries and backoff is instant and deterministic.
    public static func virtual(start: Date) -> Timekeeper {
        let clock = VirtualClock(start: start)
        return Timekeeper(now: { clock.now }, sleep: { clock.advance(by: $0) })
    }
}

/// The state behind `Timekeeper.virtual`.
final class VirtualClock: Sendable {
    private let current: Mutex<Date>

    init(start: Date) { current = Mutex(start) }

    var now: Date { current.withLock { $0 } }

    func advance(by duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(duration.seconds) }
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    /// A duration from seconds given as a floating-point number.
    public static func seconds(double value: Double) -> Duration {
        .nanoseconds(Int64((value * 1e9).rounded()))
    }
}
