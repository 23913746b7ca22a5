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
    /// `stranger_matched` for both users: a store that tells users inside the commit (`realtime.send`)
    /// stores these with the room; the others leave them to the pass.
    public var notifications: [UserNotification] = []

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
    /// - Throws: when the room does not encode as a notification payload.
    init(_ pairing: Pairing, roomID: String, now: Date, settings: MatchPass.Settings) throws {
        self.init(
            room: Room(id: roomID, first: pairing.first.userID, second: pairing.second.userID, createdAt: now),
            user1: pairing.first.userID, user2: pairing.second.userID,
            msgIDs: pairing.first.allMsgIDs + pairing.second.allMsgIDs,
            claimSeconds: settings.claimSeconds, skipWindowSeconds: settings.policy.skipWindowSeconds
        )
        notifications = try [pairing.first.userID, pairing.second.userID].map { try UserNotification.matched($0, room: room) }
    }
}

extension MatchCommit {
    /// The match as one element of `commit_stranger_matches`' `matches` argument, with its notifications when
    /// the commit is to store them. `created_at` goes as the text the report and `stranger_matched` carry: a
    /// bound `Date` would be stored truncated to the microsecond, where the text is rounded (1 µs apart half
    /// the time).
    func setWiseArgument(withNotifications: Bool) -> JSONValue {
        var fields: [String: JSONValue] = [
            "room_id": .string(room.id), "user1": .string(user1), "user2": .string(user2),
            "msg_ids": .array(msgIDs.map { .number(JSONNumber($0)) }), "created_at": .string(Timestamp.format(room.createdAt)),
        ]
        if withNotifications {
            fields["notifications"] = .array(
                notifications.map { ["topic": .string($0.topic), "event": .string($0.event), "payload": $0.payload] })
        }
        return .object(fields)
    }
}
