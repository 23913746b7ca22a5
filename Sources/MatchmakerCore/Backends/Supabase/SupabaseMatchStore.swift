import Foundation
import Logging
import Shared

/// `MatchStore` over PostgREST: one query for skips, one for bots, one `commit_stranger_matches` RPC per
/// pass (or per `commitBatchSize` pairs), one `ack_stranger_matches` RPC, one RPC per undo, and `idle_bots`
/// for the registered bots a pass may claim.
struct SupabaseMatchStore: BatchMatchStore {
    let backend: SupabaseBackend

    /// Two requests, one after the other, each failing on its own: in order, so that a recorded pass replays
    /// exactly (`matchmaker replay` expects the requests in the order they were made).
    func passLookups(among users: [String], since: Date) async -> (skips: Result<[Skip], any Error>, bots: Result<Set<String>, any Error>) {
        let skips = await Result(catching: { try await recentSkips(among: users, since: since) })
        let bots = await Result(catching: { try await botIDs(among: users) })
        return (skips, bots)
    }

    func commit(batch matches: [MatchCommit]) async throws -> [MatchCommitOutcome] {
        guard let first = matches.first else { return [] }
        let rows = try await backend.postgrest.rpc(
            "commit_stranger_matches",
            arguments: [
                "queue_name": .string(backend.pgmq.queue), "matches": .array(matches.map { $0.setWiseArgument(withNotifications: false) }),
                "claim_seconds": .number(JSONNumber(first.claimSeconds)),
                "skip_window_seconds": .number(JSONNumber(first.skipWindowSeconds)),
            ]
        )
        var verdicts: [String: String] = [:]
        if case .array(let answers)? = rows {
            for answer in answers {
                if let roomID = answer["room_id"]?.stringValue, let status = answer["status"]?.stringValue { verdicts[roomID] = status }
            }
        }
        return matches.map { match in
            switch verdicts[match.room.id] {
            case "ok": .committed
            case let code?: .rejected(code: code)
            case nil: .rejected(code: "MM003")
            }
        }
    }

    func roomsNotified(ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        _ = try await backend.postgrest.rpc("ack_stranger_matches", arguments: ["room_ids": .array(ids.map(JSONValue.string))])
    }

    func recentSkips(among users: [String], since: Date) async throws -> [Skip] {
        guard !users.isEmpty else { return [] }
        let rows = try await backend.postgrest.select(
            "skipped_pair", columns: "user_a_id,user_b_id,created_at",
            filters: [.gte("created_at", Timestamp.format(since)), .any(of: [("user_a_id", users), ("user_b_id", users)])]
        )
        return rows.compactMap { row in
            guard let a = row["user_a_id"]?.stringValue, let b = row["user_b_id"]?.stringValue,
                let at = row["created_at"]?.stringValue.flatMap(Timestamp.parse)
            else { return nil }
            return Skip(userA: a, userB: b, createdAt: at)
        }
    }

    func botIDs(among users: [String]) async throws -> Set<String> {
        guard !users.isEmpty else { return [] }
        let rows = try await backend.postgrest.select("user", columns: "id", filters: [.is("is_bot", "true"), .in("id", users)])
        return Set(rows.compactMap { $0["id"]?.stringValue })
    }

    func commit(_ match: MatchCommit) async throws {
        _ = try await backend.postgrest.rpc(
            "commit_stranger_match",
            arguments: [
                "queue_name": .string(backend.pgmq.queue), "room_id": .string(match.room.id),
                "user1": .string(match.user1), "user2": .string(match.user2),
                "msg_ids": .array(match.msgIDs.map { .number(JSONNumber($0)) }),
                "claim_seconds": .number(JSONNumber(match.claimSeconds)),
                "skip_window_seconds": .number(JSONNumber(match.skipWindowSeconds)),
                "created_at": .string(Timestamp.format(match.room.createdAt)),
            ]
        )
    }

    func idleBots(limit: Int) async throws -> [String] {
        guard limit > 0 else { return [] }
        let rows = try await backend.postgrest.rpc("idle_bots", arguments: ["max_rows": .number(JSONNumber(limit))])
        guard case .array(let ids)? = rows else { return [] }
        // PostgREST answers a set of scalars as plain values; a proxy that names the column gives objects.
        return ids.compactMap { $0.stringValue ?? $0["idle_bots"]?.stringValue }
    }

    func roomNotified(id: String) async throws {
        _ = try await backend.postgrest.rpc("ack_stranger_match", arguments: ["room_id": .string(id)])
    }

    func deleteRoom(id: String) async throws {
        _ = try await backend.postgrest.rpc("delete_stranger_room", arguments: ["room_id": .string(id)])
    }
}
