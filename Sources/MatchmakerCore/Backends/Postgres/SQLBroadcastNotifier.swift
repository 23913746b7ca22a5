import Logging
import PostgresNIO
import Shared

/// Broadcasts through `realtime.send(payload, event, topic, private)` on the database: Supabase
/// Realtime fans the row out to `user:<id>` subscribers. Used when `DATABASE_URL` is set without
/// `SUPABASE_URL`; a call that returns has stored the broadcast durably.
public struct SQLBroadcastNotifier: Notifier {
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
}
