import Foundation
import Hummingbird
import Logging
import Metrics
import ServiceLifecycle
import Shared

/// The bot service's parts: one HTTP client, one Realtime pool, one manager, in start order.
public struct BotParts: Sendable {
    /// Shuts the HTTP client down last.
    public var http: HTTPClientService
    /// The shared Realtime pool.
    public var realtime: RealtimeClient
    /// The manager.
    public var manager: BotManager

    /// Dependencies first: a `ServiceGroup` stops them in reverse, so every bot leaves before the pool closes.
    public var services: [any Service] { [http, realtime, manager] }
}

/// Builds the bot service against the project of `realtime` (Supabase, or an embedded `serve`) with its API key;
/// its Realtime monitor records into `metrics`.
public func buildBotService(
    config: BotConfig, realtime realtimeConfiguration: RealtimeConfiguration,
    metrics: any MetricsFactory = MetricsSystem.factory, logger: Logger
) -> BotParts {
    let url = realtimeConfiguration.url
    let timeout = realtimeConfiguration.connectTimeout
    let http = AsyncHTTPTransport.makeClient(connectTimeout: timeout)
    let transport = AsyncHTTPTransport(client: http, baseURL: url, apiKey: realtimeConfiguration.apiKey, timeout: timeout, logger: logger)
    // A refused handshake (401/403/404: a wrong key or URL) is probed over HTTP so that no bot retries it.
    let realtime = RealtimeClient(
        configuration: realtimeConfiguration, monitor: RealtimeMonitor(factory: metrics), handshakeProbe: transport, logger: logger)
    let manager = BotManager(
        settings: config.manager, client: realtime, store: BotStore(transport: transport),
        presence: LobbyObserver(client: realtime), logger: logger
    )
    return BotParts(http: HTTPClientService(client: http), realtime: realtime, manager: manager)
}

/// Why the bot service is not ready, or nil once its manager runs, has not halted, and its Realtime client
/// has an open socket (the lobby channel the manager watches is joined on its first tick).
public func botReadiness(_ manager: BotManager) -> String? {
    let stats = manager.stats
    guard stats.isRunning else { return "the bot manager has not started" }
    if let halted = stats.halted { return "bots halted: \(halted)" }
    guard manager.client.monitor.snapshot.activeConnections > 0 else { return "the Realtime client is not connected" }
    return nil
}
