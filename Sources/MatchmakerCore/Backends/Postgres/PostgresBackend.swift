import Logging
import PostgresNIO
import ServiceLifecycle
import Shared

/// The `postgres` backend: pgmq, rooms and skips over one `PostgresClient` (`DATABASE_URL`).
///
/// The backend is a `Service` that runs its client's pool: run it in the process's service group (or
/// a task group) for as long as the backend is used. Presence and notifications come from elsewhere (Supabase Realtime, or
/// `SQLBroadcastNotifier` and no presence), so `ports(presence:notifier:)` takes them.
public struct PostgresBackend: Service {
    /// The connection pool; run it as a service.
    public let client: PostgresClient
    /// The pgmq queue.
    public let queueName: String
    let logger: Logger

    /// Creates the backend over `client`.
    public init(client: PostgresClient, queueName: String, logger: Logger) {
        self.client = client
        self.queueName = queueName
        self.logger = logger
    }

    /// Creates the backend from `DATABASE_URL`, with its own client of at most `poolSize` connections
    /// (`DATABASE_POOL_SIZE`; by default `COMMIT_CONCURRENCY` + 2, at least 4).
    public init(url: String, queueName: String, settings: MatchPass.Settings, poolSize: Int? = nil, logger: Logger) throws {
        var configuration = try DatabaseURL(url).configuration
        configuration.options.maximumConnections = poolSize ?? max(4, settings.commitConcurrency + 2)
        self.init(client: PostgresClient(configuration: configuration, backgroundLogger: logger), queueName: queueName, logger: logger)
    }

    /// Runs the connection pool until cancelled.
    public func run() async throws {
        await client.run()
    }

    /// Why a pass cannot run now (the database does not answer within 2 s), or `nil` when it can.
    public func readiness() async -> String? {
        do {
            try await withTimeout(.seconds(2), time: .system) {
                try await database { try await client.command("select 1", logger: logger) }
            }
            return nil
        } catch {
            return "database unavailable"
        }
    }

    /// The queue port.
    public var queue: PostgresMatchQueue { PostgresMatchQueue(client: client, queueName: queueName, logger: logger) }

    /// The store port.
    public var store: PostgresMatchStore {
        PostgresMatchStore(client: client, queueName: queueName, logger: logger)
    }

    /// The pass's ports: SQL for the queue and tables, the given presence and notifier for Realtime.
    ///
    /// With `SQLBroadcastNotifier` the store's set-wise commit stores the `stranger_matched` broadcasts
    /// itself, in the match's transaction, so a pass needs no notification round trip per match.
    public func ports(presence: any PresenceSource, notifier: any Notifier) -> MatchPorts {
        let store = PostgresMatchStore(
            client: client, queueName: queueName, logger: logger, notifyInCommit: (notifier as? SQLBroadcastNotifier)?.isPrivate)
        return MatchPorts(queue: queue, presence: presence, store: store, notifier: notifier)
    }

    /// The relay that finishes abandoned matches, delivering through `notifier` with `settings`' retries.
    public func relay(notifier: any Notifier, settings: MatchPass.Settings, time: Timekeeper = .system) -> OutboxRelay {
        OutboxRelay(
            outbox: PostgresMatchOutbox(client: client, logger: logger), notifier: notifier, claimSeconds: settings.claimSeconds,
            runner: RetryRunner(backoff: settings.notifyBackoff, attemptTimeout: settings.attemptTimeout, time: time),
            logger: logger
        )
    }

    /// The queue's levels from `pgmq.metrics`: every message (leased or not) and the oldest one's age.
    public func queueLevels() async throws -> QueueLevels {
        try await database {
            let rows = try await client.query(
                """
                select queue_length::int8, coalesce(oldest_msg_age_sec, 0)::float8 from pgmq.metrics(\(queueName))
                """,
                logger: logger
            )
            for try await (depth, age) in rows.decode((Int64, Double).self) {
                return QueueLevels(depth: Int(depth), oldestAgeSeconds: age)
            }
            return QueueLevels(depth: 0, oldestAgeSeconds: 0)
        }
    }

    /// Rows of `matchmaker_outbox` for this queue: matches committed and not yet acknowledged or undone.
    public func outboxBacklog() async throws -> Int {
        try await database {
            let rows = try await client.query(
                "select count(*)::int8 from public.matchmaker_outbox where queue_name = \(queueName)", logger: logger)
            for try await count in rows.decode(Int64.self) { return Int(count) }
            return 0
        }
    }
}
