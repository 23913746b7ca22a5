import Foundation
import Shared

/// The matchmaker's RPCs of schema `public`, named and typed as in `20260701000003_stranger_rooms.sql`
/// and the later migrations (`release_stranger_messages`, `claim_stranger_matches`, `commit_stranger_matches`,
/// `drop_stranger_messages`).
extension RPCController {
    /// The functions' parameters: name → (type, required).
    static let publicFunctions: [String: [(name: String, type: ParameterType, required: Bool)]] = [
        "create_stranger_room": [
            ("room_id", .text, true), ("user1", .text, true), ("user2", .text, true), ("created_at", .timestamptz, false),
        ],
        "commit_stranger_match": [
            ("queue_name", .text, true), ("room_id", .text, true), ("user1", .text, true), ("user2", .text, true),
            ("msg_ids", .bigintArray, true), ("claim_seconds", .integer, false), ("skip_window_seconds", .integer, false),
            ("created_at", .timestamptz, false),
        ],
        "ack_stranger_match": [("room_id", .text, true)],
        "commit_stranger_matches": [
            ("queue_name", .text, true), ("matches", .jsonb, true), ("claim_seconds", .integer, false),
            ("skip_window_seconds", .integer, false), ("notify", .jsonb, false), ("notify_private", .jsonb, false),
        ],
        "ack_stranger_matches": [("room_ids", .jsonbArray, true)],
        "delete_stranger_room": [("room_id", .text, true)],
        "claim_stranger_matches": [
            ("claim_seconds", .integer, false), ("max_rows", .integer, false), ("max_age_seconds", .integer, false),
        ],
        "release_stranger_messages": [("queue_name", .text, true), ("msg_ids", .bigintArray, true), ("leased_until", .timestamptz, true)],
        "drop_stranger_messages": [("queue_name", .text, true), ("msg_ids", .bigintArray, true), ("archive", .jsonb, false)],
        "lease_bots": [("owner", .text, true), ("bot_ids", .jsonbArray, true), ("lease_seconds", .integer, true)],
        "ready_bots": [
            ("owner", .text, true), ("bot_ids", .jsonbArray, true), ("stale_claim_seconds", .integer, false),
            ("finished_room", .text, false),
        ],
        "idle_bots": [("max_rows", .integer, false)],
    ]

    /// Runs a room RPC; its PostgreSQL errors (`23505`, `MM001`–`MM003`) propagate as `SQLError`.
    func performPublic(_ function: String, _ args: [String: Argument]) throws -> JSONValue {
        if function == "claim_stranger_matches" {
            let claimed = store.claimStrangerMatches(
                claimSeconds: args["claim_seconds"]?.integer ?? 30, limit: args["max_rows"]?.integer ?? 100,
                maxAgeSeconds: args["max_age_seconds"]?.integer ?? 600)
            return .array(
                try claimed.map { match in
                    [
                        "room_id": .string(match.roomID), "room": try JSONValue(encoding: match.room),
                        "users": .array(match.users.map(JSONValue.string)), "attempts": .number(JSONNumber(match.attempts)),
                    ]
                })
        }
        if function == "commit_stranger_matches" {
            return try commitStrangerMatches(args)
        }
        if let registry = try performRegistry(function, args) {
            return registry
        }
        if function == "ack_stranger_matches" {
            return .number(JSONNumber(store.ackStrangerMatches(roomIDs: args["room_ids"]!.jsonArray.compactMap(\.stringValue))))
        }
        if function == "drop_stranger_messages" {
            let queue = args["queue_name"]!.text
            let archive = args["archive"]?.json == .bool(true)
            var dropped = 0
            for id in args["msg_ids"]!.integers {
                let found = archive ? try pgmq.archive(queue, msgID: id) : try pgmq.delete(queue, msgID: id)
                if found { dropped += 1 }
            }
            return .number(JSONNumber(dropped))
        }
        if function == "release_stranger_messages" {
            let released = try pgmq.release(
                args["queue_name"]!.text, msgIDs: args["msg_ids"]!.integers, leasedUntil: args["leased_until"]!.date ?? .distantPast)
            return .number(JSONNumber(released))
        }
        let roomID = args["room_id"]!.text
        switch function {
        case "create_stranger_room":
            let room = try store.createStrangerRoom(
                id: roomID, user1: args["user1"]!.text, user2: args["user2"]!.text, createdAt: args["created_at"]?.date)
            return try JSONValue(encoding: room)
        case "commit_stranger_match":
            let room = try store.commitStrangerMatch(
                queue: args["queue_name"]!.text, roomID: roomID, user1: args["user1"]!.text, user2: args["user2"]!.text,
                msgIDs: args["msg_ids"]!.integers, claimSeconds: args["claim_seconds"]?.integer ?? 30,
                skipWindowSeconds: args["skip_window_seconds"]?.integer ?? 10, createdAt: args["created_at"]?.date
            )
            return try JSONValue(encoding: room)
        case "ack_stranger_match":
            return .bool(store.ackStrangerMatch(roomID: roomID))
        default:
            return .bool(try store.deleteStrangerRoom(id: roomID))
        }
    }

    /// The bot registry's functions (`lease_bots`, `ready_bots`, `idle_bots`), or nil for another function.
    private func performRegistry(_ function: String, _ args: [String: Argument]) throws -> JSONValue? {
        let ids = { args["bot_ids"]!.jsonArray.compactMap(\.stringValue) }
        switch function {
        case "lease_bots":
            let rows = store.leaseBots(owner: args["owner"]!.text, botIDs: ids(), leaseSeconds: args["lease_seconds"]!.integer)
            return .array(
                rows.map { row in
                    [
                        "bot_id": .string(row.botID), "idle": .bool(row.idle), "room_id": row.roomID.map(JSONValue.string) ?? .null,
                        "claimed_at": row.claimedAt.map { .string(Timestamp.format($0)) } ?? .null,
                    ]
                })
        case "ready_bots":
            let count = store.readyBots(
                owner: args["owner"]!.text, botIDs: ids(), staleClaimSeconds: args["stale_claim_seconds"]?.integer,
                finishedRoom: args["finished_room"]?.text)
            return .number(JSONNumber(count))
        case "idle_bots":
            return .array(store.idleBots(limit: args["max_rows"]?.integer ?? 100).map(JSONValue.string))
        default:
            return nil
        }
    }

    /// `commit_stranger_matches`: the rows `(room_id, status, room)` PostgREST returns for a set-returning function.
    /// The stand-in has no `realtime.send`, so `notify` true fails as it does on a server without Realtime.
    private func commitStrangerMatches(_ args: [String: Argument]) throws -> JSONValue {
        if args["notify"]?.json == .bool(true) {
            throw SQLError(code: "42883", message: "function realtime.send(jsonb, text, text, boolean) does not exist")
        }
        guard case .array(let elements) = args["matches"]!.json else {
            throw SQLError(code: "22023", message: "cannot extract elements from a scalar")
        }
        let matches = elements.map { element in
            var msgIDs: [Int64] = []
            if case .array(let ids)? = element["msg_ids"] { msgIDs = ids.compactMap(\.integerValue) }
            return EmbeddedStore.SetWiseMatch(
                roomID: element["room_id"]?.stringValue ?? "", user1: element["user1"]?.stringValue ?? "",
                user2: element["user2"]?.stringValue ?? "",
                msgIDs: msgIDs,
                createdAt: element["created_at"]?.stringValue.flatMap(Timestamp.parse))
        }
        let verdicts = try store.commitStrangerMatches(
            queue: args["queue_name"]!.text, matches: matches, claimSeconds: args["claim_seconds"]?.integer ?? 30,
            skipWindowSeconds: args["skip_window_seconds"]?.integer ?? 10)
        return .array(
            try verdicts.map { verdict in
                [
                    "room_id": .string(verdict.roomID), "status": .string(verdict.status),
                    "room": try verdict.room.map { try JSONValue(encoding: $0) } ?? .null,
                ]
            })
    }
}
