import Foundation
import Logging
import PostgresNIO
import Shared

/// Rooms, skips and users in PostgreSQL. A match commits through `public.commit_stranger_match`: the
/// room, its members, the consumed queue messages and the pending notifications in one transaction.
public struct PostgresMatchStore: MatchStore {
    let client: PostgresClient
    let queueName: String
    let claimSeconds: Int
    let skipWindowSeconds: Int
    let logger: Logger

    /// A store over `client`.
    /// - Parameters:
    ///   - claimSeconds: how long a committed match's notifications belong to the committing pass
    ///     before the outbox relay may deliver them instead (longer than a pass's notification retries).
    ///   - skipWindowSeconds: the skip window re-checked inside the commit (`SKIP_WINDOW`).
    public init(client: PostgresClient, queueName: String, claimSeconds: Int, skipWindowSeconds: Int, logger: Logger) {
        self.client = client
        self.queueName = queueName
        self.claimSeconds = claimSeconds
        self.skipWindowSeconds = skipWindowSeconds
        self.logger = logger
    }

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

    public func createRoom(_ room: Room, members: [String]) async throws {
        let (first, second) = try pair(members)
        try await database {
            try await client.command(
                "select public.create_stranger_room(\(room.id), \(first), \(second), \(room.createdAt))::text", logger: logger
            )
        }
    }

    public func commitRoom(_ room: Room, members: [String], consuming msgIDs: [Int64]) async throws -> Bool {
        let (first, second) = try pair(members)
        try await database {
            try await client.command(
                """
                select public.commit_stranger_match(\(queueName), \(room.id), \(first), \(second), \(msgIDs)::bigint[],
                    \(claimSeconds)::int4, \(skipWindowSeconds)::int4, \(room.createdAt))::text
                """,
                logger: logger
            )
        }
        return true
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

    private func pair(_ members: [String]) throws -> (String, String) {
        guard members.count == 2 else { throw PostgresBackendError(MemberCountError(count: members.count)) }
        return (members[0], members[1])
    }
}

/// A stranger room has exactly two members.
struct MemberCountError: Error, CustomStringConvertible {
    var count: Int
    var description: String { "a stranger room has two members, not \(count)" }
}
