import Logging
import ServiceLifecycle
import Shared

/// Every `MAINTENANCE_INTERVAL_MS`, samples the process's `OpsStatus`, sets its gauges and logs its status
/// line at info, until graceful shutdown.
public struct StatusService: Service {
    let interval: Duration
    let sample: @Sendable () async -> OpsStatus
    let gauges: OpsGauges
    let time: Timekeeper
    let logger: Logger

    /// Creates the service; `sample` reads the parts that run in this process.
    public init(
        interval: Duration, gauges: OpsGauges, time: Timekeeper = .system, logger: Logger,
        sample: @escaping @Sendable () async -> OpsStatus
    ) {
        self.interval = interval
        self.sample = sample
        self.gauges = gauges
        self.time = time
        self.logger = logger
    }

    public func run() async throws {
        await time.repeatEvery(interval) {
            let status = await sample()
            gauges.record(status)
            let line = status.line
            logger.info(line.message, metadata: line.metadata)
        }
    }
}
