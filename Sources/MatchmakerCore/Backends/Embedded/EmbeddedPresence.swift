import Synchronization

/// The lobby as the embedded backend knows it: a snapshot that the local hub or a test sets.
public final class EmbeddedPresence: PresenceSource {
    private let state: Mutex<PresenceSnapshot>

    /// Starts with `initial`.
    public init(_ initial: PresenceSnapshot) { state = Mutex(initial) }

    /// Replaces the snapshot.
    public func set(_ snapshot: PresenceSnapshot) { state.withLock { $0 = snapshot } }

    public func snapshot() async -> PresenceSnapshot { state.withLock { $0 } }
}
