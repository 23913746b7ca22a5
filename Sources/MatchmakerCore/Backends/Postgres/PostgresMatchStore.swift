import Foundation
import Logging
import PostgresNIO
import Shared

/// Rooms, skips and users in PostgreSQL. A pass's matches commit set-wise through
/// `public.commit_stranger_matches` (each match's room, members, consumed queue messages and pending
/// notifications all or nothing, every match of the pass in one call); `commit(_:)` keeps the
/// single-match `public.commit_stranger_match`. The registered bots a pass may claim come from
/// `public.idle_bots`.
public struct PostgresMatchStore: BatchMatchStore {
    /// The pool the store's statements run on.
    let client: PostgresClient
    /// The pgmq queue whose messages a commit consumes.
    let queueName: String
    let logger: Logger
    /// When set, a set-wise commit stores each match's `stranger_matched` through `realtime.send` (on
    /// private channels when true) in the same transaction: the pass's notifier is `SQLBroadcastNotifier`.
    let notifyInCommit: Bool?

    /// The store over `client`; `notifyInCommit` as above (`nil`: the pass tells users itself).
    public init(client: PostgresClient, queueName: String, logger: Logger, notifyInCommit: Bool? = nil) {
        self.client = client
        self.queueName = queueName
        self.logger = logger
        self.notifyInCommit = notifyInCommit
    }

    public func passLookups(
        among users: [String], since: Date
    ) async -> (skips: Result<[Skip], any Error>, bots: Result<Set<String>, any Error>) {
        do {
            let (skips, bots) = try await lookups(among: users, since: since)
            return (.success(skips), .success(bots))
        } catch {
            return (.failure(error), .failure(error))
        }
    }

    /// Skips and bots in one statement.
    private func lookups(among users: [String], since: Date) async throws -> ([Skip], Set<String>) {
        guard !users.isEmpty else { return ([], []) }
        return try await database {
            let rows = try await client.query(
                """
                select 's', user_a_id, user_b_id, created_at from public.skipped_pair
                where (user_a_id = any(\(users)) or user_b_id = any(\(users))) and created_at >= \(since)
                union all
                select 'b', id, null::text, null::timestamptz from public."user" where id = any(\(users)) and is_bot
                """,
                logger: logger
            )
            var skips: [Skip] = []
            var bots: Set<String> = []
            for try await (kind, a, b, at) in rows.decode((String, String, String?, Date?).self) {
                if kind == "b" {
                    bots.insert(a)
                } else if let b, let at {
                    skips.append(Skip(userA: a, userB: b, createdAt: at))
                }
            }
            return (skips, bots)
        }
    }

    public func commit(batch matches: [MatchCommit]) async throws -> [MatchCommitOutcome] {
        guard let first = matches.first else { return [] }
        let notify = notifyInCommit != nil
        let body = try JSONCoding.string(JSONValue.array(matches.map { $0.setWiseArgument(withNotifications: notify) }))
        return try await database {
            let rows = try await client.query(
                """
                select room_id::text, status from public.commit_stranger_matches(\(queueName), \(body)::jsonb,
                    \(first.claimSeconds)::int4, \(first.skipWindowSeconds)::int4, \(notify), \(notifyInCommit ?? false))
                """,
                logger: logger
            )
            var verdicts: [String: String] = [:]
            for try await (roomID, status) in rows.decode((String, String).self) { verdicts[roomID] = status }
            return matches.map { match in
                switch verdicts[match.room.id] {
                case "ok": notify ? .committedAndNotified : .committed
                case let code?: .rejected(code: code)
                case nil: .rejected(code: "MM003")
                }
            }
        }
    }

    public func roomsNotified(ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await database {
            try await client.command("select public.ack_stranger_matches(\(ids)::varchar[])", logger: logger)
        }
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

    public func idleBots(limit: Int) async throws -> [String] {
        guard limit > 0 else { return [] }
        return try await database {
            let rows = try await client.query("select public.idle_bots(\(limit)::int4)", logger: logger)
            var bots: [String] = []
            for try await id in rows.decode(String.self) { bots.append(id) }
            return bots
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
