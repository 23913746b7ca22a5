import Foundation
import Logging
import Shared

/// `MatchOutbox` over PostgREST: `claim_stranger_matches`, `ack_stranger_match`, `delete_stranger_room`.
struct SupabaseMatchOutbox: MatchOutbox {
    let postgrest: PostgRESTClient

    func claimAbandoned(limit: Int, claimSeconds: Int) async throws -> [AbandonedMatch] {
        let rows = try await postgrest.rpc(
            "claim_stranger_matches",
            arguments: ["claim_seconds": .number(JSONNumber(claimSeconds)), "max_rows": .number(JSONNumber(limit))])
        guard case .array(let claimed)? = rows else { return [] }
        return claimed.compactMap { row in
            guard let roomID = row["room_id"]?.stringValue else { return nil }
            let users: [String] =
                if case .array(let users)? = row["users"] { users.compactMap(\.stringValue) } else { [] }
            return AbandonedMatch(
                roomID: roomID, room: try? row["room"]?.decode(as: Room.self), users: users,
                attempts: Int(row["attempts"]?.integerValue ?? 1))
        }
    }

    func acknowledge(roomID: String) async throws {
        _ = try await postgrest.rpc("ack_stranger_match", arguments: ["room_id": .string(roomID)])
    }

    func undo(roomID: String) async throws {
        _ = try await postgrest.rpc("delete_stranger_room", arguments: ["room_id": .string(roomID)])
    }
}
