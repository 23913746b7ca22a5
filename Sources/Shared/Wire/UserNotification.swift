/// A broadcast to one user's channel `user:<id>` (contract §5).
public struct UserNotification: Codable, Sendable, Hashable {
    /// The user the notification is for.
    public var userID: String
    /// The broadcast event name.
    public var event: String
    /// The broadcast payload.
    public var payload: JSONValue

    /// The Realtime topic without the `realtime:` prefix.
    public var topic: String { "user:\(userID)" }

    /// Creates a notification.
    public init(userID: String, event: String, payload: JSONValue) {
        self.userID = userID
        self.event = event
        self.payload = payload
    }

    /// `stranger_matched {room}`.
    public static func matched(_ userID: String, room: Room) throws -> UserNotification {
        UserNotification(userID: userID, event: "stranger_matched", payload: ["room": try JSONValue(encoding: room)])
    }

    /// `stranger_no_matches {reason}`.
    public static func noMatches(_ userID: String, reason: String) -> UserNotification {
        UserNotification(userID: userID, event: "stranger_no_matches", payload: ["reason": .string(reason)])
    }

    /// `stranger_skipped {message}`: sent when a pair is undone after this user was told about it.
    public static func skipped(_ userID: String) -> UserNotification {
        UserNotification(
            userID: userID, event: "stranger_skipped",
            payload: ["message": "The stranger skipped you. Finding a new match..."]
        )
    }
}
