import Foundation

/// One channel's whole join lifecycle as a value: the attempt in flight and its deadline, the join ref frames
/// must carry, the first `presence_state`, the running join loop, the rejoin schedule (seed backoff with jitter;
/// non-retryable errors give up at once), the cause of a coming `phx_close`, and removal.
///
/// The channel keeps it behind its lock; the socket feeds it events with `now` and performs what it returns,
/// sleeping until the deadlines it returns.
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

    /// What the socket does after an event, in order.
    public enum Action: Sendable, Hashable {
        /// Announce `.subscribed`: the join was accepted.
        case announceJoined
        /// Emit `.error(error)` on the channel's events.
        case report(RealtimeError)
        /// Run a join loop for the channel: it must rejoin.
        case rejoin
        /// Remove the channel; its events end with `.closed(cause)`.
        case remove(cause: RealtimeError)
    }

    /// What a `subscribe()` does.
    public enum Subscription: Sendable, Hashable {
        /// Nothing: the channel is joined (and has its `presence_state` when it awaits one).
        case ready
        /// Run the join loop, which this call now owns.
        case join
        /// Wait for the outcome of the join loop already running.
        case wait
        /// Fail: the channel was removed (`cause` is nil when it left on request).
        case removed(cause: RealtimeError?)
    }

    /// What to do after a failed join.
    public enum Decision: Sendable, Hashable {
        /// Try again at `at`, `delay` after the failure.
        case retry(at: Date, delay: Duration)
        /// Stop after `attempts` attempts: the error is not retryable, or the retries are spent.
        case giveUp(reason: RetryFailure.Reason, attempts: Int)
    }

    /// The rejoin schedule (`Backoff.channel`).
    public var backoff: Backoff
    /// The limit on connect + join (+ first `presence_state`): `REALTIME_CONNECT_TIMEOUT`.
    public var joinTimeout: Duration
    /// Whether a join is complete only with its first `presence_state` (presence is enabled).
    public var awaitsPresence: Bool
    /// Where the channel is.
    public private(set) var state: State = .closed
    /// Failed attempts since the last successful join.
    public private(set) var failures = 0
    /// Whether a `presence_state` arrived since the current join started.
    public private(set) var presenceSynced = false
    /// Whether a join loop (attempts and the waits between them) is running.
    public private(set) var joinLoopRunning = false
    /// The last `system` error since the last join: the cause of a `phx_close` that follows it.
    public private(set) var systemError: RealtimeError?
    /// Whether the channel was removed from its socket; nothing brings it back.
    public private(set) var isRemoved = false
    /// Why the channel was removed, when it did not leave on request.
    public private(set) var removalCause: RealtimeError?

    /// Creates a closed channel.
    public init(backoff: Backoff = .channel, joinTimeout: Duration = .seconds(8), awaitsPresence: Bool = false) {
        self.backoff = backoff
        self.joinTimeout = joinTimeout
        self.awaitsPresence = awaitsPresence
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

    /// Whether the channel is joined and, when it awaits presence, has its `presence_state` since that join.
    public var isSynced: Bool { isJoined && (!awaitsPresence || presenceSynced) }

    /// A caller wants the channel joined: done already, a join loop to run (now marked running), one to wait
    /// for, or a removed channel.
    public mutating func subscribe() -> Subscription {
        if isRemoved { return .removed(cause: removalCause) }
        if isSynced { return .ready }
        if joinLoopRunning { return .wait }
        joinLoopRunning = true
        return .join
    }

    /// A rejoin is about to run: true (and the loop is marked running) unless a loop runs or the channel is removed.
    public mutating func beginRejoin() -> Bool {
        guard !joinLoopRunning, !isRemoved else { return false }
        joinLoopRunning = true
        return true
    }

    /// The join loop ended, whatever its outcome.
    public mutating func joinLoopEnded() {
        joinLoopRunning = false
    }

    /// Starts a join attempt with `ref`; returns its deadline, by which connect + join (+ the first
    /// `presence_state`) must be done.
    public mutating func startJoin(ref: String, now: Date) -> Date {
        let deadline = now.addingTimeInterval(joinTimeout.seconds)
        state = .joining(joinRef: ref, deadline: deadline)
        presenceSynced = false
        return deadline
    }

    /// An `ok` reply to the join `ref`: announces the join; a stale reply changes nothing.
    public mutating func joinAccepted(ref: String) -> [Action] {
        guard case .joining(let current, _) = state, current == ref else { return [] }
        state = .joined(joinRef: ref)
        failures = 0
        systemError = nil
        return [.announceJoined]
    }

    /// The channel's `presence_state` arrived.
    public mutating func presenceStateReceived() {
        presenceSynced = true
    }

    /// A failed attempt (error reply, timeout, socket trouble): decides between a jittered retry and giving up.
    /// - Parameter unit: a uniform random number in `0..<1` for the jitter.
    public mutating func failed(_ failureClass: FailureClass, now: Date, unit: Double) -> Decision {
        failures += 1
        guard failureClass.isRetryable else {
            state = .failed
            return .giveUp(reason: .nonRetryable, attempts: failures)
        }
        guard failures <= backoff.maxRetries else {
            state = .failed
            return .giveUp(reason: .exhausted, attempts: failures)
        }
        let delay = backoff.delay(attempt: failures, unit: unit)
        let at = now.addingTimeInterval(delay.seconds)
        state = .errored(retryAt: at)
        return .retry(at: at, delay: delay)
    }

    /// The socket opened: a channel that lost its join, with no join loop running, rejoins.
    public func socketOpened() -> [Action] {
        state == .errored(retryAt: nil) && !joinLoopRunning ? [.rejoin] : []
    }

    /// The socket closed with `cause`: a joined or joining channel must rejoin once it reopens; a joined one
    /// reports the cause.
    public mutating func socketDropped(cause: RealtimeError) -> [Action] {
        let wasJoined = isJoined
        loseJoin()
        return wasJoined ? [.report(cause)] : []
    }

    /// The channel process crashed (`phx_error`): the channel reports it and rejoins unless a join loop runs.
    public mutating func channelCrashed(_ error: RealtimeError) -> [Action] {
        loseJoin()
        return joinLoopRunning ? [.report(error)] : [.report(error), .rejoin]
    }

    /// A `system` error arrived: it is reported, and it is the cause of a `phx_close` that follows.
    public mutating func systemErrorReceived(_ error: RealtimeError) -> [Action] {
        systemError = error
        return [.report(error)]
    }

    /// The server closed the channel (`phx_close`): it is removed, unless a join is in flight, whose attempt
    /// fails instead and the join loop decides what follows.
    public func serverClosed() -> [Action] {
        if case .joining = state { return [] }
        return [.remove(cause: systemError ?? RealtimeError(.channelClosed, reason: "server closed the channel"))]
    }

    /// The channel was removed from its socket (`cause` nil when it left on request): it is not rejoined.
    public mutating func remove(cause: RealtimeError?) {
        isRemoved = true
        removalCause = cause
        state = .closed
    }

    /// Whether a `phx_close`/`phx_error`/reply carrying `joinRef` belongs to the current join.
    ///
    /// Frames without a join ref (vsn 1.0.0 fan-out) are accepted; a different ref is a stale join's frame.
    public func accepts(joinRef candidate: String?) -> Bool {
        guard let candidate else { return true }
        return candidate == joinRef
    }

    /// The join is gone. A retry that was waiting for its instant now waits for the socket instead: the
    /// rejoin loop that slept until then ends with the socket, and only `.errored(retryAt: nil)` is rejoined
    /// when it reopens.
    private mutating func loseJoin() {
        switch state {
        case .joined, .joining, .errored: state = .errored(retryAt: nil)
        default: break
        }
    }
}
