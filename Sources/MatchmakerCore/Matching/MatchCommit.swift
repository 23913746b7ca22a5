import Foundation
import Shared

/// One match to commit (`commit_stranger_match`): the room, its two users, the leased messages it consumes
/// and the terms of the commit. The pass decides it; the store writes it in one transaction.
public struct MatchCommit: Sendable, Hashable {
    /// The room; its owner is `user1`.
    public var room: Room
    /// The user with the earlier message.
    public var user1: String
    /// The other user.
    public var user2: String
    /// The pair's leased messages; the commit also consumes every other message of both users.
    public var msgIDs: [Int64]
    /// How long the committing pass owns the match's notifications before the outbox relay may deliver them.
    public var claimSeconds: Int
    /// The skip window re-checked inside the commit, in whole seconds.
    public var skipWindowSeconds: Int

    /// Creates a commit.
    public init(room: Room, user1: String, user2: String, msgIDs: [Int64], claimSeconds: Int, skipWindowSeconds: Int) {
        self.room = room
        self.user1 = user1
        self.user2 = user2
        self.msgIDs = msgIDs
        self.claimSeconds = claimSeconds
        self.skipWindowSeconds = skipWindowSeconds
    }

    /// The commit of `pairing` into the room `roomID` created at `now`, on `settings`' terms.
    init(_ pairing: Pairing, roomID: String, now: Date, settings: MatchPass.Settings) {
        self.init(
            room: Room(id: roomID, first: pairing.first.userID, second: pairing.second.userID, createdAt: now),
            user1: pairing.first.userID, user2: pairing.second.userID,
            msgIDs: pairing.first.allMsgIDs + pairing.second.allMsgIDs,
            claimSeconds: settings.claimSeconds, skipWindowSeconds: settings.policy.skipWindowSeconds
        )
    }
}
