import Foundation
import Synchronization

/// One Realtime channel (`realtime:<name>`) on a pooled socket: join state, presence, and an event stream.
///
/// Get one from `RealtimeClient.channel(_:options:)`, then `subscribe()`. Events arrive in order on `events`,
/// which has a single consumer.
public final class RealtimeChannel: Sendable {
    /// The channel name without the `realtime:` prefix.
    public let name: String
    /// The wire topic, `realtime:<name>`.
    public let topic: String
    /// The join options.
    public let options: ChannelOptions
    /// Every event of this channel, in order; finishes after `.closed`.
    public let events: AsyncStream<ChannelEvent>

    /// The socket carrying this channel.
    let socket: RealtimeSocket
    private let continuation: AsyncStream<ChannelEvent>.Continuation
    private let state: Mutex<State>
    private let presenceObservers = Mutex<[@Sendable (_ joins: PresenceState) -> Void]>([])

    /// Everything about the channel that changes, behind one lock: the join lifecycle (`machine`), presence,
    /// and the callers waiting on them.
    private struct State {
        var machine: ChannelStateMachine
        var presence = PresenceState()
        var budget: PresenceBudget
        var presenceWaiter: OneShot<PresenceState>?
        var joinWaiters: [OneShot<Void>] = []
    }

    /// Creates a channel on `socket`; the pool does this.
    /// - Parameter stateOnly: keep no events nobody awaits (a channel read only for `presence` and `isSynced`).
    init(
        name: String, options: ChannelOptions, stateOnly: Bool = false, socket: RealtimeSocket, machine: ChannelStateMachine,
        budget: PresenceBudget
    ) {
        self.name = name
        self.topic = "realtime:\(name)"
        self.options = options
        self.socket = socket
        (events, continuation) = AsyncStream.makeStream(
            of: ChannelEvent.self, bufferingPolicy: stateOnly ? .bufferingNewest(0) : .unbounded)
        state = Mutex(State(machine: machine, budget: budget))
    }

    /// The presence state as of the last `presence_state`/`presence_diff`.
    public var presence: PresenceState { state.withLock { $0.presence } }

    /// Calls `observer` with the metas that joined on every `presence_state` (all of them) and `presence_diff`
    /// (its `joins`), after the channel's `presence` includes them: for watchers of a `stateOnly` channel,
    /// whose `events` keep nothing. It runs on the socket's reader: it must be quick.
    public func onPresenceJoins(_ observer: @escaping @Sendable (_ joins: PresenceState) -> Void) {
        presenceObservers.withLock { $0.append(observer) }
    }

    private func announceJoins(_ joins: @autoclosure () -> PresenceState) {
        let observers = presenceObservers.withLock { $0 }
        guard !observers.isEmpty else { return }
        let joined = joins()
        for observer in observers { observer(joined) }
    }

    /// Whether the channel is joined now.
    public var isJoined: Bool { state.withLock { $0.machine.isJoined } }

    /// Whether the channel is joined and, when presence is enabled, has its `presence_state` since that join.
    public var isSynced: Bool {
        state.withLock { $0.machine.isSynced }
    }

    /// The join lifecycle.
    public var machine: ChannelStateMachine { state.withLock { $0.machine } }

    /// Joins: connect (if needed) + join (+ first `presence_state` when presence is enabled) within the connect
    /// timeout, retried with the seed backoff; a non-retryable refusal stops at once.
    /// - Throws: `RealtimeError` of kind `gaveUp` (the channel is then removed), or `CancellationError`.
    public func subscribe() async throws {
        try await socket.subscribe(self)
    }

    /// Leaves the channel and removes it from its socket.
    public func unsubscribe() async {
        await socket.leave(self)
    }

    /// Tracks `meta` as this client's presence, spending the presence budget (waits when it is spent).
    public func track(_ meta: JSONValue) async throws {
        try await socket.presence(self, event: "track", payload: meta)
    }

    /// Removes this client's presence, spending the presence budget.
    public func untrack() async throws {
        try await socket.presence(self, event: "untrack", payload: nil)
    }

    /// Broadcasts `event` with `payload`; with `broadcastAck`, returns once the server acknowledged it.
    public func broadcast(event: String, payload: JSONValue) async throws {
        try await socket.broadcast(self, event: event, payload: payload)
    }

    // MARK: - Socket side

    /// Feeds the join lifecycle an event under the channel's lock; returns what the machine decided.
    func step<T: Sendable>(_ event: (inout ChannelStateMachine) -> T) -> T {
        state.withLock { event(&$0.machine) }
    }

    /// Why a removed channel is gone (its give-up error, so that later callers see the cause); nil while it is
    /// live or when it left on request.
    var removalError: RealtimeError? { state.withLock { $0.machine.removalCause } }

    /// What `subscribe()` does; `waiter` is kept for the running join loop's outcome when it must wait.
    func requestJoin(waiter: OneShot<Void>) -> ChannelStateMachine.Subscription {
        state.withLock { state in
            let next = state.machine.subscribe()
            if next == .wait { state.joinWaiters.append(waiter) }
            return next
        }
    }

    /// Ends the join loop; returns the callers waiting for its outcome.
    func endJoinLoop() -> [OneShot<Void>] {
        state.withLock { state in
            state.machine.joinLoopEnded()
            defer { state.joinWaiters = [] }
            return state.joinWaiters
        }
    }

    /// A waiter for the first `presence_state` of the join about to be sent, when presence is enabled.
    func expectPresenceState() -> OneShot<PresenceState>? {
        guard options.presenceEnabled else { return nil }
        let waiter = OneShot<PresenceState>()
        state.withLock { $0.presenceWaiter = waiter }
        return waiter
    }

    /// Forgets the waiter of an abandoned attempt.
    func dropPresenceWaiter() {
        state.withLock { $0.presenceWaiter = nil }
    }

    /// Replaces the presence with a `presence_state`; returns it and the waiter to resolve with it.
    func syncPresence(_ payload: JSONValue) -> (PresenceState, OneShot<PresenceState>?) {
        let synced = state.withLock { state in
            state.presence.sync(payload)
            state.machine.presenceStateReceived()
            defer { state.presenceWaiter = nil }
            return (state.presence, state.presenceWaiter)
        }
        announceJoins(synced.0)
        return synced
    }

    /// Applies a `presence_diff`.
    func applyPresenceDiff(_ payload: JSONValue) {
        state.withLock { $0.presence.apply(diff: payload) }
        announceJoins(PresenceState(syncing: payload["joins"] ?? [:]))
    }

    /// Spends one presence call of the budget at `now` if it allows one; returns whether it did and when the
    /// next call is allowed.
    func spendPresenceBudget(now: Date) -> (spent: Bool, next: Date) {
        state.withLock { state in
            (state.budget.spend(now: now), state.budget.nextAllowed(now: now))
        }
    }

    /// Appends an event to `events`.
    func emit(_ event: ChannelEvent) {
        continuation.yield(event)
    }

    /// Marks the channel removed and ends the event stream with `.closed`.
    func finish(_ error: RealtimeError?) {
        let waiter: OneShot<PresenceState>? = state.withLock { state in
            state.machine.remove(cause: error)
            defer { state.presenceWaiter = nil }
            return state.presenceWaiter
        }
        waiter?.resolve(.failure(error ?? RealtimeError(.channelClosed, reason: "channel left")))
        continuation.yield(.closed(error))
        continuation.finish()
    }
}
