import Foundation
import Logging
import PostgresNIO
import Shared

/// The app server's writes straight into PostgreSQL, for the `postgres` backend (which has no PostgREST):
/// the same rows and the same `pgmq_public.send`, called as the role `anon` as PostgREST would.
///
/// Run `client` (a `PostgresClient`) for as long as the simulator writes.
public struct SQLAppServer: AppServer {
    /// The connection pool; run it.
    public let client: PostgresClient
    let queue: String
    let logger: Logger

    /// Writes through `client` to `queue`.
    public init(client: PostgresClient, queue: String = "stranger-queue", logger: Logger) {
        self.client = client
        self.queue = queue
        self.logger = logger
    }

    public func createUser(_ userID: String, now: Date) async throws {
        let email = "\(userID)@sim.invalid"
        try await client.query(
            """
            insert into public."user" (id, name, email, email_verified, is_anonymous, created_at, updated_at)
            values (\(userID), \(userID), \(email), false, true, now() at time zone 'utc', now() at time zone 'utc')
            on conflict (id) do nothing
            """, logger: logger)
    }

    public func enqueue(_ userID: String, continent: String) async throws {
        let body = try JSONCoding.string(["userId": .string(userID), "continent": .string(continent)] as JSONValue)
        try await client.withConnection { connection in
            try await connection.query("begin", logger: logger)
            do {
                try await connection.query("set local role anon", logger: logger)
                try await connection.query("select * from pgmq_public.send(\(queue), \(body)::jsonb)", logger: logger)
                try await connection.query("commit", logger: logger)
            } catch {
                try await connection.query("rollback", logger: logger)
                throw error
            }
        }
    }

    public func skipRoom(_ roomID: String, skipper: String, partner: String) async throws {
        try await client.query("delete from public.room where id = \(roomID)", logger: logger)
        // Both rows in one order whoever skips: two partners skipping at once would otherwise lock them in
        // opposite orders, and PostgreSQL would end one of them as a deadlock (15 of 1,415 skips in a 30-minute
        // soak; 22 of 1,172, then 0 of 1,173 with this order, at 8 arrivals/s and 60 % skips for 4 minutes).
        let (first, second) = skipper < partner ? (skipper, partner) : (partner, skipper)
        try await client.query(
            """
            insert into public.skipped_pair (user_a_id, user_b_id) values (\(first), \(second)), (\(second), \(first))
            on conflict (user_a_id, user_b_id) do update set created_at = now()
            """, logger: logger)
    }
}
