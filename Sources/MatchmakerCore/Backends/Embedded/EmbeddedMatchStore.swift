import EmbeddedSupabase
import Foundation
import Shared

/// `MatchStore` over the stand-in's tables and its room RPCs: a match commits through
/// `commit_stranger_match` (room, members, consumed messages and pending match in one critical section),
/// as on the other backends.
struct EmbeddedMatchStore: MatchStore, InProcessPort {
    let store: EmbeddedStore
    /// The queue the commit consumes messages from.
    let queueName: String

    func recentSkips(among users: [String], since: Date) async throws -> [Skip] {
        try await store.recentSkips(among: users, since: since)
    }

    func botIDs(among users: [String]) async throws -> Set<String> {
        try await store.botIDs(among: users)
    }

    func idleBots(limit: Int) async throws -> [String] {
        store.idleBots(limit: limit)
    }

    func commit(_ match: MatchCommit) async throws {
        _ = try store.commitStrangerMatch(
            queue: queueName, roomID: match.room.id, user1: match.user1, user2: match.user2, msgIDs: match.msgIDs,
            claimSeconds: match.claimSeconds, skipWindowSeconds: match.skipWindowSeconds, createdAt: match.room.createdAt
        )
    }

    func roomNotified(id: String) async throws {
        _ = store.ackStrangerMatch(roomID: id)
    }

    func deleteRoom(id: String) async throws {
        _ = try store.deleteStrangerRoom(id: id)
    }
}
