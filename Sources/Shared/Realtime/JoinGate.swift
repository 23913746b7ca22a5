import Foundation
import Synchronization

/// The pool's door for joins: spaces them by the join rate and counts joins in flight.
final class JoinGate: Sendable {
    private struct State {
        var limiter: JoinRateLimiter
        var inFlight = 0
        var admitted = 0
    }

    private let state: Mutex<State>
    private let time: Timekeeper

    /// Creates a gate admitting `perSecond` joins per second on `time`.
    init(perSecond: Int, time: Timekeeper) {
        state = Mutex(State(limiter: JoinRateLimiter(perSecond: perSecond)))
        self.time = time
    }

    /// Joins started and not finished.
    var inFlight: Int { state.withLock { $0.inFlight } }

    /// Joins admitted so far.
    var admitted: Int { state.withLock { $0.admitted } }

    /// Waits for the next join slot, then counts the join as in flight; pair with `finish()`.
    func admit() async throws {
        let now = time.now()
        let slot = state.withLock { $0.limiter.reserve(now: now) }
        let wait = slot.timeIntervalSince(now)
        if wait > 0 { try await time.sleep(.seconds(double: wait)) }
        state.withLock {
            $0.inFlight += 1
            $0.admitted += 1
        }
    }

    /// A join admitted by `admit()` has finished, whatever its outcome.
    func finish() {
        state.withLock { $0.inFlight -= 1 }
    }
}
