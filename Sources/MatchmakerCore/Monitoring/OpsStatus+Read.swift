import Logging
import Shared

extension OpsStatus {
    /// Reads a process's status now: `client`'s pool and monitor and `bots`' numbers from memory, the queue's
    /// levels and the outbox backlog through the backend. A level that cannot be read is left out, with a warning.
    public static func read(
        client: RealtimeClient?, bots: BotManager?, queueLevels: (@Sendable () async throws -> QueueLevels)? = nil,
        outboxBacklog: (@Sendable () async throws -> Int)? = nil, logger: Logger
    ) async -> OpsStatus {
        var status = OpsStatus(pool: client?.stats(), monitor: client?.monitor.snapshot, bots: bots?.stats)
        status.queue = await sampled("queue levels", queueLevels, logger: logger)
        status.outboxBacklog = await sampled("outbox backlog", outboxBacklog, logger: logger)
        return status
    }

    private static func sampled<T: Sendable>(
        _ part: String, _ read: (@Sendable () async throws -> T)?, logger: Logger
    ) async -> T? {
        guard let read else { return nil }
        do {
            return try await read()
        } catch {
            logger.warning("Could not read the \(part) for the status line", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
