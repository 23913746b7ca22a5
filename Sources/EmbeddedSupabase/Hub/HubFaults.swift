import Synchronization

/// Misbehaviour to inject into the embedded hub, so that tests can prove the client against a bad server.
public final class HubFaults: Sendable {
    private struct State {
        var refuseJoins: String?
        var ignoreJoins = false
        var ignoreHeartbeats = false
        var holdPresenceState = false
    }

    private let state = Mutex(State())

    /// Creates a well-behaved book.
    public init() {}

    /// Answers every `phx_join` with this error reason (`Unauthorized: …`, `ChannelRateLimitReached: …`); nil stops.
    public func refuseJoins(_ reason: String?) { state.withLock { $0.refuseJoins = reason } }

    /// Never answers `phx_join` while set.
    public func ignoreJoins(_ on: Bool) { state.withLock { $0.ignoreJoins = on } }

    /// Never answers heartbeats while set.
    public func ignoreHeartbeats(_ on: Bool) { state.withLock { $0.ignoreHeartbeats = on } }

    /// Holds back `presence_state` after joins while set.
    public func holdPresenceState(_ on: Bool) { state.withLock { $0.holdPresenceState = on } }

    /// The reason joins are refused with, if any.
    var joinRefusal: String? { state.withLock { $0.refuseJoins } }
    /// Whether joins go unanswered.
    var joinsIgnored: Bool { state.withLock { $0.ignoreJoins } }
    /// Whether heartbeats go unanswered.
    var heartbeatsIgnored: Bool { state.withLock { $0.ignoreHeartbeats } }
    /// Whether `presence_state` is held back.
    var presenceHeld: Bool { state.withLock { $0.holdPresenceState } }
}
