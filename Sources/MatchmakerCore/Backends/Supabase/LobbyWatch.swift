import Logging
import ServiceLifecycle
import Shared

/// Watches the lobby channel `serve` keeps joined (the same one `RealtimePresenceSource` reads) and calls
/// `signal` when a `presence_state` or `presence_diff` brings a meta with `status: "waiting"`: someone became
/// matchable (contract §6, "Triggers").
///
/// It joins the lobby at start, with the client's backoff; once joined the channel rejoins on its own. While
/// it is not joined, the schedule matches.
public struct LobbyWatch: Service {
    private let client: RealtimeClient
    private let time: Timekeeper
    private let logger: Logger
    private let signal: @Sendable () -> Void

    /// Creates a watch of `client`'s lobby.
    public init(client: RealtimeClient, time: Timekeeper = .system, logger: Logger, signal: @escaping @Sendable () -> Void) {
        self.client = client
        self.time = time
        self.logger = logger
        self.signal = signal
    }

    /// Whether any meta among `joins` is waiting.
    static func bringsWaiting(_ joins: PresenceState) -> Bool {
        joins.entries.values.contains { PresenceSnapshot.isWaiting($0) }
    }

    public func run() async throws {
        let channel = await client.channel(
            RealtimePresenceSource.lobby, options: ChannelOptions(presenceEnabled: true), stateOnly: true)
        channel.onPresenceJoins { [signal] joins in
            if Self.bringsWaiting(joins) { signal() }
        }
        let runner = RetryRunner(
            backoff: Backoff(maxRetries: .max, baseDelay: .seconds(1), maxDelay: .seconds(30)),
            attemptTimeout: client.configuration.connectTimeout, time: time)
        do {
            try await cancelWhenGracefulShutdown {
                try await runner.run { _ in try await channel.subscribe() }
                logger.info("Watching the lobby for waiting users", metadata: ["realtime.topic": "\(channel.topic)"])
                try await gracefulShutdown()
            }
        } catch is CancellationError {
            // Shutting down.
        } catch {
            logger.warning("Lobby watch gave up; passes run on the schedule", metadata: ["error": "\(error)"])
        }
    }
}
