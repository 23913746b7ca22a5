import Shared

/// The lobby's presence read over Realtime (contract §2): channel `global:lobby` joined with presence enabled,
/// never tracked, and the snapshot taken from `presence_state` (then kept current by `presence_diff`).
///
/// Connect + join + first `presence_state` must finish within the connect timeout, or the snapshot is
/// `.unavailable` with the cause, and the pass runs degraded.
public struct RealtimePresenceSource: PresenceSource {
    /// The lobby channel's name.
    public static let lobby = "global:lobby"

    private let client: RealtimeClient
    private let time: Timekeeper
    private let keepJoined: Bool

    /// Creates a source on `client`.
    /// - Parameter keepJoined: `serve` keeps the lobby joined so a pass costs no join; a one-shot `match`
    ///   leaves after reading (false).
    public init(client: RealtimeClient, time: Timekeeper = .system, keepJoined: Bool = true) {
        self.client = client
        self.time = time
        self.keepJoined = keepJoined
    }

    public func snapshot() async -> PresenceSnapshot {
        let channel = await client.channel(Self.lobby, options: ChannelOptions(presenceEnabled: true), stateOnly: true)
        if keepJoined, channel.isSynced {
            return .available(channel.presence.entries)
        }
        do {
            try await withTimeout(client.configuration.connectTimeout, time: time) { try await channel.subscribe() }
        } catch {
            if !keepJoined { await channel.unsubscribe() }
            return .unavailable(reason: "lobby presence unavailable: \(error)")
        }
        let entries = channel.presence.entries
        if !keepJoined { await channel.unsubscribe() }
        return .available(entries)
    }
}
