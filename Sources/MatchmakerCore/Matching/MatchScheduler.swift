import Logging
import ServiceLifecycle
import Shared

/// Runs a pass every `interval` (`MATCH_INTERVAL`) until graceful shutdown.
///
/// Passes go through the shared `PassRunner`, so a scheduled pass and a function call never overlap.
public struct MatchScheduler: Service {
    let runner: PassRunner
    let interval: Duration
    let time: Timekeeper
    let logger: Logger

    /// Creates a scheduler.
    public init(runner: PassRunner, interval: Duration, time: Timekeeper = .system, logger: Logger) {
        self.runner = runner
        self.interval = interval
        self.time = time
        self.logger = logger
    }

    public func run() async throws {
        logger.info("Scheduler started", metadata: ["match.interval": "\(interval)"])
        await time.repeatEvery(interval) {
            do {
                _ = try await runner.run()
            } catch is CancellationError {
                // Shutting down: the loop ends on its own.
            } catch {
                logger.warning("Scheduled pass failed", metadata: ["error": "\(error)"])
            }
        }
        logger.info("Scheduler stopped")
    }
}
