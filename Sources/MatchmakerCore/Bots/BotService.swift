import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Shared
import Synchronization

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

/// The bots `serve` runs in-process on the embedded backend, talking to this server over real sockets.
///
/// They can only be built once the server listens (its port may be 0 until then); they then run as the
/// bot service's own group, so that on graceful shutdown every bot leaves before the pool closes and
/// the pool before the HTTP client.
public final class InProcessBots: Service {
    private let port: BoundPort
    private let logger: Logger
    private let build: @Sendable (_ port: Int) -> BotParts
    private let manager = Mutex<BotManager?>(nil)

    /// Creates the service; `build` makes the parts for the port the server bound.
    public init(port: BoundPort, logger: Logger, build: @escaping @Sendable (_ port: Int) -> BotParts) {
        self.port = port
        self.logger = logger
        self.build = build
    }

    /// The manager's and pool's numbers, once the bots run.
    public var stats: BotStats? { manager.withLock { $0 }.map(BotStats.init) }

    public func run() async throws {
        guard let port = try? await cancelWhenGracefulShutdown({ await self.port.value() }) else { return }
        logger.info("Starting the in-process bots", metadata: ["http.port": "\(port)"])
        let parts = build(port)
        manager.withLock { $0 = parts.manager }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: parts.services.map { .init(service: $0) }, logger: logger))
        try await group.run()
    }
}

/// The router of `matchmaker bots`: `/healthz` and `/stats`.
public func buildBotRouter(_ manager: BotManager) -> Router<BasicRequestContext> {
    let router = Router()
    router.get("/healthz") { _, _ in Response.json(["status": "ok"] as JSONValue) }
    router.get("/stats") { _, _ in Response.json(BotStats(manager)) }
    return router
}
