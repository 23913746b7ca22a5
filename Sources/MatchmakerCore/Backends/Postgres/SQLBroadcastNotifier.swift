import Logging
import PostgresNIO
import Shared

/// Broadcasts through `realtime.send(payload, event, topic, private)` on the database: Supabase
/// Realtime fans the row out to `user:<id>` subscribers. Used when `DATABASE_URL` is set without
/// `SUPABASE_URL`; a call that returns has stored the broadcast durably. A batch is one statement.
public struct SQLBroadcastNotifier: BatchNotifier {
    let client: PostgresClient
    let isPrivate: Bool
    let logger: Logger

    /// A notifier over `client`; `isPrivate` is `NOTIFY_PRIVATE` (contract §5, public by default).
    public init(client: PostgresClient, isPrivate: Bool = false, logger: Logger) {
        self.client = client
        self.isPrivate = isPrivate
        self.logger = logger
    }

    public func send(_ notification: UserNotification) async throws {
        let payload = try JSONCoding.string(notification.payload)
        try await database {
            try await client.command(
                "select realtime.send(\(payload)::jsonb, \(notification.event), \(notification.topic), \(isPrivate))",
                logger: logger
            )
        }
    }

    /// Broadcasts per statement.
    public var maxBatchSize: Int { 1_000 }

    public func send(batch notifications: [UserNotification]) async throws {
        guard !notifications.isEmpty else { return }
        let payloads = try notifications.map { try JSONCoding.string($0.payload) }
        let events = notifications.map(\.event)
        let topics = notifications.map(\.topic)
        try await database {
            try await client.command(
                """
                select count(*) from (
                    select realtime.send(n.payload::jsonb, n.event, n.topic, \(isPrivate))
                    from unnest(\(payloads)::text[], \(events)::text[], \(topics)::text[]) as n(payload, event, topic)
                ) sent
                """,
                logger: logger
            )
        }
    }
}
