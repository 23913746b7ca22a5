import Foundation

/// When to send a heartbeat on topic `phoenix` and when one went unanswered (contract §7).
///
/// Fed with `now`; the socket performs the actions. A heartbeat still pending when the next one is due means
/// the connection is dead: the socket closes and reconnects.
public struct HeartbeatMachine: Sendable, Hashable {
    /// What the socket should do on a tick.
    public enum Action: Sendable, Hashable {
        /// Nothing yet; tick again at the deadline.
        case wait
        /// Send a heartbeat with this ref.
        case send(ref: String)
        /// The previous heartbeat was never answered: close and reconnect.
        case timedOut(ref: String)
    }

    /// The heartbeat interval (25 s).
    public var interval: Duration
    /// When the next tick is due.
    public private(set) var deadline: Date
    /// The ref of the heartbeat awaiting its reply.
    public private(set) var pendingRef: String?

    /// Starts the schedule at `now`: the first heartbeat goes out one interval later.
    public init(interval: Duration = .seconds(25), now: Date) {
        self.interval = interval
        self.deadline = now.addingTimeInterval(interval.seconds)
    }

    /// Decides what to do at `now`; `makeRef` supplies a fresh ref when a heartbeat is due.
    public mutating func tick(now: Date, makeRef: () -> String) -> Action {
        guard now >= deadline else { return .wait }
        if let pendingRef { return .timedOut(ref: pendingRef) }
        let ref = makeRef()
        pendingRef = ref
        deadline = now.addingTimeInterval(interval.seconds)
        return .send(ref: ref)
    }

    /// Records a `phx_reply` on topic `phoenix`; replies to older heartbeats are ignored.
    public mutating func replied(ref: String?) {
        if ref == pendingRef { pendingRef = nil }
    }
}
