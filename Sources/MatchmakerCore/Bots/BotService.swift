import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Shared
import UnixSignals

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

/// Builds the bot service against the project of `realtime` (Supabase, or an embedded `serve`) with its API key.
public func buildBotService(config: BotConfig, realtime realtimeConfiguration: RealtimeConfiguration, queue: String, logger: Logger)
    -> BotParts
{
    let url = realtimeConfiguration.url
    let timeout = realtimeConfiguration.connectTimeout
    let http = AsyncHTTPTransport.makeClient(connectTimeout: timeout)
    let transport = AsyncHTTPTransport(client: http, baseURL: url, apiKey: realtimeConfiguration.apiKey, timeout: timeout, logger: logger)
    // A refused handshake (401/403/404: a wrong key or URL) is probed over HTTP so that no bot retries it.
    let realtime = RealtimeClient(configuration: realtimeConfiguration, handshakeProbe: transport, logger: logger)
    let manager = BotManager(
        settings: config.manager, client: realtime, store: BotStore(transport: transport, queue: queue),
        presence: LobbyObserver(client: realtime), logger: logger
    )
    return BotParts(http: HTTPClientService(client: http), realtime: realtime, manager: manager)
}

/// Runs bot parts that can only be built later (once `serve` knows its port) as one service; on graceful
/// shutdown the manager stops first (every bot leaves politely), then the pool, then the HTTP client.
public struct DeferredBotService: Service {
    let logger: Logger
    let prepare: @Sendable () async throws -> BotParts

    /// Creates the service; `prepare` runs when the service starts.
    public init(logger: Logger, prepare: @escaping @Sendable () async throws -> BotParts) {
        self.logger = logger
        self.prepare = prepare
    }

    public func run() async throws {
        guard let parts = try? await cancelWhenGracefulShutdown(prepare) else { return }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: parts.services.map { .init(service: $0) }, logger: logger))
        try await group.run()
    }
}

/// The bot manager's numbers with the Realtime pool's and monitor's, as `/stats` shows them.
public func botStats(_ manager: BotManager) -> JSONValue {
    var body = (try? JSONValue(encoding: manager.stats)) ?? [:]
    if case .object(var fields) = body {
        fields["realtime"] = [
            "monitor": (try? JSONValue(encoding: manager.client.monitor.snapshot)) ?? .null,
            "pool": (try? JSONValue(encoding: manager.client.stats())) ?? .null,
        ]
        body = .object(fields)
    }
    return body
}

/// The router of `matchmaker bots`: `/healthz` and `/stats`.
public func buildBotRouter(_ manager: BotManager) -> Router<BasicRequestContext> {
    let router = Router()
    router.get("/healthz") { _, _ in Response.json(["status": "ok"] as JSONValue) }
    router.get("/stats") { _, _ in Response.json(botStats(manager)) }
    return router
}

/// Runs `app` and the in-process bots until SIGTERM/SIGINT; the bots stop first, while the server still carries
/// their goodbyes (`room_closed`, presence leaves).
public func runAlongside(_ app: some Service, bots: DeferredBotService, logger: Logger) async throws {
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(
            services: [.init(service: app), .init(service: bots)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    )
    try await group.run()
}
