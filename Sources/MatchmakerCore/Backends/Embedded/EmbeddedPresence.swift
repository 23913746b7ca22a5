import Shared
import Synchronization

/// The lobby as the embedded backend knows it: a snapshot set by a test or fixture, else the local hub's lobby.
public final class EmbeddedPresence: PresenceSource {
    private let state: Mutex<(snapshot: PresenceSnapshot, isSet: Bool)>
    private let live: @Sendable () -> [String: [JSONValue]]?

    /// Starts with `initial`; `live` reads the hub's lobby (`nil` while nobody has joined it).
    public init(_ initial: PresenceSnapshot, live: @escaping @Sendable () -> [String: [JSONValue]]? = { nil }) {
        state = Mutex((initial, false))
        self.live = live
    }

    /// Replaces the snapshot; from now on it wins over the hub's lobby.
    public func set(_ snapshot: PresenceSnapshot) { state.withLock { $0 = (snapshot, true) } }

    public func snapshot() async -> PresenceSnapshot {
        let (snapshot, isSet) = state.withLock { $0 }
        if !isSet, let lobby = live() { return .available(lobby) }
        return snapshot
    }
}
