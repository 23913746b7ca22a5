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

    /// Everything about the channel that changes, behind one lock.
    struct State {
        var machine: ChannelStateMachine
        var presence = PresenceState()
        var budget: PresenceBudget
        var presenceWaiter: OneShot<PresenceState>?
        var presenceSynced = false
        var joinWaiters: [OneShot<Void>] = []
        var lastSystemError: RealtimeError?
        var joinLoopActive = false
        var removed = false
        /// Why the channel was removed, when it did not leave on request.
        var closeError: RealtimeError?
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

    /// Whether the channel is joined now.
    public var isJoined: Bool { state.withLock { $0.machine.isJoined } }

    /// Whether the channel is joined and, when presence is enabled, has its `presence_state` since that join.
    public var isSynced: Bool {
        state.withLock { $0.machine.isJoined && (!options.presenceEnabled || $0.presenceSynced) }
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

    /// Runs `body` on the channel's state under its lock.
    func withState<T>(_ body: (inout sending State) -> sending T) -> T { state.withLock(body) }

    /// Why a removed channel is gone (its give-up error, so that later callers see the cause); nil while it is
    /// live or when it left on request.
    var removalError: RealtimeError? { state.withLock { $0.removed ? $0.closeError : nil } }

    /// Appends an event to `events`.
    func emit(_ event: ChannelEvent) {
        continuation.yield(event)
    }

    /// Marks the channel removed and ends the event stream with `.closed`.
    func finish(_ error: RealtimeError?) {
        let waiter: OneShot<PresenceState>? = state.withLock { state in
            state.removed = true
            state.closeError = error
            state.machine.close()
            defer { state.presenceWaiter = nil }
            return state.presenceWaiter
        }
        waiter?.resolve(.failure(error ?? RealtimeError(.channelClosed, reason: "channel left")))
        continuation.yield(.closed(error))
        continuation.finish()
    }
}
