import Foundation
import Logging
import PostgresNIO
import Shared

/// Rooms, skips and users in PostgreSQL. A match commits through `public.commit_stranger_match`: the
/// room, its members, the consumed queue messages and the pending notifications in one transaction.
public struct PostgresMatchStore: MatchStore {
    /// The pool the store's statements run on.
    let client: PostgresClient
    /// The pgmq queue whose messages a commit consumes.
    let queueName: String
    let logger: Logger

    public func recentSkips(among users: [String], since: Date) async throws -> [Skip] {
        guard !users.isEmpty else { return [] }
        return try await database {
            let rows = try await client.query(
                """
                select user_a_id, user_b_id, created_at from public.skipped_pair
                where (user_a_id = any(\(users)) or user_b_id = any(\(users))) and created_at >= \(since)
                """,
                logger: logger
            )
            var skips: [Skip] = []
            for try await (a, b, at) in rows.decode((String, String, Date).self) {
                skips.append(Skip(userA: a, userB: b, createdAt: at))
            }
            return skips
        }
    }

    public func botIDs(among users: [String]) async throws -> Set<String> {
        guard !users.isEmpty else { return [] }
        return try await database {
            let rows = try await client.query(
                "select id from public.\"user\" where id = any(\(users)) and is_bot", logger: logger
            )
            var bots: Set<String> = []
            for try await id in rows.decode(String.self) { bots.insert(id) }
            return bots
        }
    }

    public func commit(_ match: MatchCommit) async throws {
        // `created_at` goes as the text the report and `stranger_matched` carry: binding the `Date` would
        // store it truncated to the microsecond, where the text is rounded (1 µs apart half the time).
        let createdAt = Timestamp.format(match.room.createdAt)
        try await database {
            try await client.command(
                """
                select public.commit_stranger_match(\(queueName), \(match.room.id), \(match.user1), \(match.user2),
                    \(match.msgIDs)::bigint[], \(match.claimSeconds)::int4, \(match.skipWindowSeconds)::int4,
                    \(createdAt)::timestamptz)::text
                """,
                logger: logger
            )
        }
    }

    public func roomNotified(id: String) async throws {
        try await database {
            try await client.command("select public.ack_stranger_match(\(id))", logger: logger)
        }
    }

    public func deleteRoom(id: String) async throws {
        try await database {
            try await client.command("select public.delete_stranger_room(\(id))", logger: logger)
        }
    }
}
