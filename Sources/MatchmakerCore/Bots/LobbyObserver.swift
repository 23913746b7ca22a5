import Shared
import Synchronization

/// The bot manager's view of the lobby: one channel of its own on `global:lobby`, presence on, never tracked.
///
/// Joined on first use and kept; a snapshot is `.unavailable` while it is not joined within the connect timeout.
public final class LobbyObserver: PresenceSource {
    private let client: RealtimeClient
    private let time: Timekeeper
    private let channel = Mutex<RealtimeChannel?>(nil)

    /// Creates an observer on `client`.
    public init(client: RealtimeClient, time: Timekeeper = .system) {
        self.client = client
        self.time = time
    }

    public func snapshot() async -> PresenceSnapshot {
        var current = channel.withLock { $0 }
        if current == nil {
            let fresh = await client.channel(
                RealtimePresenceSource.lobby, options: ChannelOptions(presenceEnabled: true), exclusive: true, stateOnly: true)
            channel.withLock { $0 = fresh }
            current = fresh
        }
        guard let lobby = current else { return .unavailable(reason: "no lobby channel") }
        if lobby.isSynced { return .available(lobby.presence.entries) }
        do {
            try await withTimeout(client.configuration.connectTimeout, time: time) { try await lobby.subscribe() }
        } catch {
            channel.withLock { if $0 === lobby { $0 = nil } }
            await lobby.unsubscribe()
            return .unavailable(reason: "lobby presence unavailable: \(error)")
        }
        return .available(lobby.presence.entries)
    }

    /// Leaves the lobby.
    public func close() async {
        let current = channel.withLock { state -> RealtimeChannel? in
            defer { state = nil }
            return state
        }
        await current?.unsubscribe()
    }
}
