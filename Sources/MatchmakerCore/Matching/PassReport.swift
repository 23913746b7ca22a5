import Foundation
import Shared

/// What one pass did: the function's response body is built from it, and so are `/stats` and the logs.
public struct PassReport: Sendable, Hashable, Codable {
    /// Messages leased (the original's `totalUsers`).
    public var totalUsers = 0
    /// Rooms created, written and announced to both users, in plan order.
    public var rooms: [Room] = []
    /// Rooms that paired a human with a bot.
    public var botFills = 0
    /// Users leased but not paired: kept, expired or stale (the original's `unprocessedUsers`).
    public var unprocessedUsers = 0
    /// Users told `stranger_no_matches` and removed from the queue.
    public var expired = 0
    /// Users removed because they left the lobby.
    public var stale = 0
    /// Malformed messages archived.
    public var malformed = 0
    /// Extra messages of matched users deleted with their match.
    public var duplicates = 0
    /// Pairs undone: the room could not be written, or a user could not be told; both stay queued.
    public var undone = 0
    /// UserNotification attempts that failed (each retry counts).
    public var failedNotificationAttempts = 0
    /// True when presence was unavailable and the pass ran without it.
    public var degraded = false
    /// Why presence was unavailable.
    public var presenceError: String?
    /// True when the skip ledger could not be read (pairs were then not checked against skips).
    public var skipsUnavailable = false
    /// The earliest moment a human this pass kept becomes eligible for a bot (`Plan.botFillDueAt`): the pass
    /// trigger schedules a pass then. In neither the response body nor `/stats` (not encoded).
    public var botFillDueAt: Date?

    private enum CodingKeys: String, CodingKey {
        case totalUsers, rooms, botFills, unprocessedUsers, expired, stale, malformed, duplicates, undone
        case failedNotificationAttempts, degraded, presenceError, skipsUnavailable
    }

    /// Creates an empty report.
    public init() {}

    /// Rooms created.
    public var pairedRooms: Int { rooms.count }
    /// Queue messages consumed by matches: two per room, as the original counted.
    public var processedMessages: Int { 2 * rooms.count }
}

extension PassReport {
    /// The function endpoint's 200 body (contract §6): the original's keys, plus new ones.
    public var responseBody: JSONValue {
        if totalUsers == 0 {
            return [
                "success": true, "message": "No users in queue",
                "stats": ["totalUsers": 0, "pairedRooms": 0, "processedMessages": 0],
            ]
        }
        var body: [String: JSONValue] = [
            "success": true,
            "message": "Matchmaker completed successfully",
            "stats": [
                "totalUsers": .number(Double(totalUsers)),
                "pairedRooms": .number(Double(pairedRooms)),
                "processedMessages": .number(Double(processedMessages)),
                "unprocessedUsers": .number(Double(unprocessedUsers)),
                "botFills": .number(Double(botFills)),
                "expired": .number(Double(expired)),
                "stale": .number(Double(stale)),
                "malformed": .number(Double(malformed)),
                "duplicates": .number(Double(duplicates)),
                "undone": .number(Double(undone)),
            ],
            "rooms": .array(rooms.map { (try? JSONValue(encoding: $0)) ?? .null }),
            "degraded": .bool(degraded),
        ]
        if let presenceError { body["presenceError"] = .string(presenceError) }
        if skipsUnavailable { body["skipsUnavailable"] = true }
        return .object(body)
    }

    /// The function endpoint's 500 body.
    public static func failureBody(message: String) -> JSONValue {
        ["success": false, "error": "Matchmaker function failed", "message": .string(message)]
    }
}
