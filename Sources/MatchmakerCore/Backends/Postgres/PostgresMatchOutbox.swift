import Foundation
import Logging
import PostgresNIO
import Shared

/// The match outbox in PostgreSQL: `claim_stranger_matches`, `ack_stranger_match` and
/// `delete_stranger_room` of the migrations, on a direct connection.
public struct PostgresMatchOutbox: MatchOutbox {
    let client: PostgresClient
    let logger: Logger

    /// The outbox reached through `client`.
    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    public func claimAbandoned(limit: Int, claimSeconds: Int) async throws -> [AbandonedMatch] {
        try await database {
            let rows = try await client.query(
                """
                select room_id::text, room::text, users, attempts::int8
                from public.claim_stranger_matches(\(claimSeconds)::int4, \(limit)::int4)
                """,
                logger: logger
            )
            var claimed: [AbandonedMatch] = []
            for try await (roomID, room, users, attempts) in rows.decode((String, String, [String], Int64).self) {
                claimed.append(
                    AbandonedMatch(
                        roomID: roomID, room: try? JSONCoding.decoder.decode(Room.self, from: Data(room.utf8)), users: users,
                        attempts: Int(attempts))
                )
            }
            return claimed
        }
    }

    public func acknowledge(roomID: String) async throws {
        try await database { try await client.command("select public.ack_stranger_match(\(roomID))", logger: logger) }
    }

    public func undo(roomID: String) async throws {
        try await database { try await client.command("select public.delete_stranger_room(\(roomID))", logger: logger) }
    }
}
