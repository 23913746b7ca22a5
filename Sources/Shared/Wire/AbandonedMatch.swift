import Foundation

/// A committed match whose pass stopped before both users were told, claimed by a relay.
public struct AbandonedMatch: Sendable, Hashable {
    /// The room.
    public var roomID: String
    /// The room row as committed; nil when it cannot be read (the match is then undone).
    public var room: Room?
    /// The two users to tell.
    public var users: [String]
    /// Claims so far, this one included.
    public var attempts: Int

    /// Creates a claimed match.
    public init(roomID: String, room: Room?, users: [String], attempts: Int) {
        self.roomID = roomID
        self.room = room
        self.users = users
        self.attempts = attempts
    }
}
