import Foundation
import Synchronization

/// The pool's door for joins: paces them by the join rate (`JoinRateLimiter`) and counts joins in flight.
///
/// Two limiters with the same rules: one paces the start of attempts (its wait is ours, so it is outside the
/// connect timeout), the other paces the `phx_join` frames themselves, because joins admitted while their
/// socket was still connecting would otherwise leave together when it opens.
final class JoinGate: Sendable {
    private struct State {
        var limiter: JoinRateLimiter
        var sends: JoinRateLimiter
        var departures: SentJoins
        var inFlight = 0
        var admitted = 0
    }

    private let state: Mutex<State>
    private let time: Timekeeper

    /// Creates a gate admitting `perSecond` joins in any window of 1 s + `margin` on `time`.
    init(perSecond: Int, margin: Duration, time: Timekeeper) {
        let limiter = JoinRateLimiter(perSecond: perSecond, margin: margin)
        state = Mutex(State(limiter: limiter, sends: limiter, departures: SentJoins(perSecond: perSecond, window: limiter.window)))
        self.time = time
    }

    /// Joins started and not finished.
    var inFlight: Int { state.withLock { $0.inFlight } }

    /// Joins admitted so far.
    var admitted: Int { state.withLock { $0.admitted } }

    /// The most `phx_join` frames that left in any one second so far.
    var busiestSecond: Int { state.withLock { $0.departures.busiestSecond } }

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

    /// Waits for the next slot to put a `phx_join` on the wire, then until the joins that really left allow it.
    func sendSlot() async throws {
        let now = time.now()
        let slot = state.withLock { $0.sends.reserve(now: now) }
        let wait = slot.timeIntervalSince(now)
        if wait > 0 { try await time.sleep(.seconds(double: wait)) }
        while true {
            let now = time.now()
            guard let free = state.withLock({ $0.departures.depart(at: now) }) else { return }
            try await time.sleep(.seconds(double: free.timeIntervalSince(now)))
        }
    }

    /// A join admitted by `admit()` has finished, whatever its outcome.
    func finish() {
        state.withLock { $0.inFlight -= 1 }
    }
}
