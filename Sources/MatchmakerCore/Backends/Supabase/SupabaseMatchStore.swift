import Foundation
import Logging
import Shared

/// `MatchStore` over PostgREST: one query for skips, one for bots, one RPC per commit, acknowledgement or undo.
struct SupabaseMatchStore: MatchStore {
    let backend: SupabaseBackend

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

    func roomNotified(id: String) async throws {
        _ = try await backend.postgrest.rpc("ack_stranger_match", arguments: ["room_id": .string(id)])
    }

    func deleteRoom(id: String) async throws {
        _ = try await backend.postgrest.rpc("delete_stranger_room", arguments: ["room_id": .string(id)])
    }
}
