import Foundation
import MatchmakerCore
import Shared

/// What the app's own server does for a browser (contract §1, reference: `findStranger`, `skipStranger`):
/// the simulator plays it, so every write a real deployment sees reaches the project the same way.
public protocol AppServer: Sendable {
    /// Signs `userID` up: the `user` row with every NOT NULL column, as the app's sign-up writes it; a user
    /// who returns (an id the run reuses) keeps the row it has.
    func createUser(_ userID: String, now: Date) async throws
    /// `pgmq_public.send(queue_name, {userId, continent})`.
    func enqueue(_ userID: String, continent: String) async throws
    /// `skipStranger`: deletes the room, records the skip both ways, then (as `AppServer.skip` does) tells the
    /// partner and enqueues both users.
    func skipRoom(_ roomID: String, skipper: String, partner: String) async throws
}

extension AppServer {
    /// `skipStranger({roomId, continent, requeueOther: true})` as the app's server runs it: the room and the
    /// skip (`skipRoom`), `stranger_skipped` to the partner, the partner enqueued with `World`, then the caller.
    func skip(
        _ roomID: String, skipper: String, partner: String, continent: String, broadcasts: BroadcastClient
    ) async throws {
        try await skipRoom(roomID, skipper: skipper, partner: partner)
        try await broadcasts.send(
            topic: "user:\(partner)", event: "stranger_skipped",
            payload: ["message": "The stranger skipped you. Finding a new match..."])
        try await enqueue(partner, continent: "World")
        try await enqueue(skipper, continent: continent)
    }
}

/// The app server through PostgREST (`<url>/rest/v1`), as supabase-js would call it.
public struct RESTAppServer: AppServer {
    let postgrest: PostgRESTClient
    let pgmq: PgmqClient

    /// Writes through `transport` (the project's base URL and key) to `queue`.
    public init(transport: any HTTPTransport, queue: String = "stranger-queue") {
        postgrest = PostgRESTClient(transport: transport)
        pgmq = PgmqClient(postgrest: postgrest, queue: queue)
    }

    public func createUser(_ userID: String, now: Date) async throws {
        let stamp = BotIdentity.localTimestamp(now)
        try await postgrest.insert(
            "user",
            rows: [
                [
                    "id": .string(userID), "name": .string(userID), "email": .string("\(userID)@sim.invalid"),
                    "email_verified": false, "is_anonymous": true, "created_at": .string(stamp), "updated_at": .string(stamp),
                ]
            ], upsertOn: "id", resolution: .ignoreDuplicates)
    }

    public func enqueue(_ userID: String, continent: String) async throws {
        _ = try await pgmq.send(["userId": .string(userID), "continent": .string(continent)])
    }

    public func skipRoom(_ roomID: String, skipper: String, partner: String) async throws {
        try await postgrest.delete("room", filters: [.eq("id", roomID)])
        let now = JSONValue.string(Timestamp.format(Date()))
        try await postgrest.insert(
            "skipped_pair",
            rows: [
                ["user_a_id": .string(skipper), "user_b_id": .string(partner), "created_at": now],
                ["user_a_id": .string(partner), "user_b_id": .string(skipper), "created_at": now],
            ], upsertOn: "user_a_id,user_b_id")
    }
}
