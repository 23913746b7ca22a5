import Logging
import ServiceLifecycle
import Shared

/// Drains the match outbox every `interval` until graceful shutdown, so that a long-running `serve`
/// finishes the matches of passes that died (its own, or another process's).
public struct OutboxRelayService: Service {
    let relay: OutboxRelay
    let interval: Duration
    let time: Timekeeper
    let logger: Logger

    /// Creates the service.
    public init(relay: OutboxRelay, interval: Duration, time: Timekeeper = .system, logger: Logger) {
        self.relay = relay
        self.interval = interval
        self.time = time
        self.logger = logger
    }

    public func run() async throws {
        await time.repeatEvery(interval) {
            do {
                let report = try await relay.drain()
                if report.claimed > 0 {
                    logger.info(
                        "Abandoned matches relayed",
                        metadata: [
                            "outbox.delivered": "\(report.delivered)", "outbox.undone": "\(report.undone)",
                            "outbox.deferred": "\(report.deferred)",
                        ]
                    )
                }
            } catch is CancellationError {
                // Shutting down: the loop ends on its own.
            } catch {
                logger.warning("Outbox relay failed; the next round retries it", metadata: ["error": "\(error)"])
            }
        }
    }
}
