import Logging
import ServiceLifecycle
import Synchronization

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
    public var stats: BotStats? { running.map(BotStats.init) }

    /// The manager, once the bots run.
    public var running: BotManager? { manager.withLock { $0 } }

    public func run() async throws {
        guard let port = await cancelWhenGracefulShutdown({ await self.port.value() }) else { return }
        logger.info("Starting the in-process bots", metadata: ["http.port": "\(port)"])
        let parts = build(port)
        manager.withLock { $0 = parts.manager }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(services: parts.services.map { .init(service: $0) }, logger: logger))
        try await group.run()
    }
}
