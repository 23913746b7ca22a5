import Foundation

/// One channel's join lifecycle as a value: join refs, the join deadline, stale-frame filtering and the
/// rejoin schedule (seed backoff with jitter; non-retryable errors give up at once).
///
/// The socket feeds it events with `now` and performs the decisions it returns.
public struct ChannelStateMachine: Sendable, Hashable {
    /// Where the channel is.
    public enum State: Sendable, Hashable {
        /// Not joined and not trying.
        case closed
        /// A `phx_join` with this ref is in flight and must be answered by `deadline`.
        case joining(joinRef: String, deadline: Date)
        /// Joined under this ref.
        case joined(joinRef: String)
        /// The last join failed or the socket dropped; a rejoin is due at `retryAt` (or when the socket opens).
        case errored(retryAt: Date?)
        /// Given up for good; the channel is removed.
        case failed
    }

    /// What to do after a failed join.
    public enum Decision: Sendable, Hashable {
        /// Try again after `delay` (at `at`).
        case retry(at: Date, delay: Duration)
        /// Stop: the error is not retryable, or the retries are spent.
        case giveUp(reason: RetryFailure.Reason)
    }

    /// The rejoin schedule (`Backoff.channel`).
    public var backoff: Backoff
    /// The limit on connect + join (+ first `presence_state`): `REALTIME_CONNECT_TIMEOUT`.
    public var joinTimeout: Duration
    /// Where the channel is.
    public private(set) var state: State = .closed
    /// Failed attempts since the last successful join.
    public private(set) var failures = 0

    /// Creates a closed channel.
    public init(backoff: Backoff = .channel, joinTimeout: Duration = .seconds(8)) {
        self.backoff = backoff
        self.joinTimeout = joinTimeout
    }

    /// The join ref frames must carry to be this channel's, when joining or joined.
    public var joinRef: String? {
        switch state {
        case .joining(let ref, _), .joined(let ref): ref
        default: nil
        }
    }

    /// Whether the channel is joined.
    public var isJoined: Bool {
        if case .joined = state { return true }
        return false
    }

    /// Starts a join attempt with `ref`; returns the deadline of the attempt.
    public mutating func startJoin(ref: String, now: Date) -> Date {
        let deadline = now.addingTimeInterval(joinTimeout.seconds)
        state = .joining(joinRef: ref, deadline: deadline)
        return deadline
    }

    /// An `ok` reply to the join `ref`; returns false (and changes nothing) when the reply is stale.
    public mutating func joined(ref: String) -> Bool {
        guard case .joining(let current, _) = state, current == ref else { return false }
        state = .joined(joinRef: ref)
        failures = 0
        return true
    }

    /// Whether the join in flight has run out of time at `now`.
    public func joinExpired(now: Date) -> Bool {
        if case .joining(_, let deadline) = state { return now >= deadline }
        return false
    }

    /// A failed attempt (error reply, timeout, socket trouble): decides between a jittered retry and giving up.
    /// - Parameter unit: a uniform random number in `0..<1` for the jitter.
    public mutating func failed(_ failureClass: FailureClass, now: Date, unit: Double) -> Decision {
        failures += 1
        guard failureClass.isRetryable else {
            state = .failed
            return .giveUp(reason: .nonRetryable)
        }
        guard failures <= backoff.maxRetries else {
            state = .failed
            return .giveUp(reason: .exhausted)
        }
        let delay = backoff.delay(attempt: failures, unit: unit)
        let at = now.addingTimeInterval(delay.seconds)
        state = .errored(retryAt: at)
        return .retry(at: at, delay: delay)
    }

    /// The socket closed: a joined or joining channel must rejoin once it reopens.
    public mutating func socketClosed() {
        switch state {
        case .joined, .joining: state = .errored(retryAt: nil)
        default: break
        }
    }

    /// The server closed the channel (`phx_close`) or the client left: it is not rejoined.
    public mutating func close() {
        state = .closed
    }

    /// Whether a `phx_close`/`phx_error`/reply carrying `joinRef` belongs to the current join.
    ///
    /// Frames without a join ref (vsn 1.0.0 fan-out) are accepted; a different ref is a stale join's frame.
    public func accepts(joinRef candidate: String?) -> Bool {
        guard let candidate else { return true }
        return candidate == joinRef
    }
}
