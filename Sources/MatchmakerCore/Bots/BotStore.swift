import Foundation
import Shared

/// The bots' writes through PostgREST: their `user` rows, messages, analytics, and the queue.
///
/// Every write is one attempt (`BotInstance` retries the `user` row); a failure is thrown for the caller to log,
/// because a lost analytics row or `last_active` stamp must never stop a conversation.
public struct BotStore: Sendable {
    let postgrest: PostgRESTClient
    let pgmq: PgmqClient

    /// Creates a store over `transport` for the queue `queue`.
    public init(transport: any HTTPTransport, queue: String = "stranger-queue") {
        postgrest = PostgRESTClient(transport: transport)
        pgmq = PgmqClient(postgrest: postgrest, queue: queue)
    }

    /// Writes the bot's `user` row, reused across restarts, in two calls:
    /// `POST /rest/v1/user?on_conflict=id` with `Prefer: resolution=ignore-duplicates` inserts the full row
    /// (`BotIdentity.userRow(now:)`) the first time and leaves an existing one alone, then
    /// `PATCH /rest/v1/user?id=eq.<id>` brings an existing row up to date (`BotIdentity.userUpdate(now:)`).
    ///
    /// One `merge-duplicates` upsert cannot do this: PostgREST updates every column it was sent, and the insert
    /// must send `created_at` (the app's table has no default for it), so a restart would overwrite the first
    /// start's `created_at`. A failure of either call is thrown: the bot must not queue without its row (the
    /// room's foreign keys would refuse it).
    public func upsertUser(_ identity: BotIdentity, now: Date) async throws {
        try await postgrest.insert("user", rows: [identity.userRow(now: now)], upsertOn: "id", resolution: .ignoreDuplicates)
        try await postgrest.update("user", set: identity.userUpdate(now: now), filters: [.eq("id", identity.id)])
    }

    /// `pgmq_public.send` of `{userId, continent: "World"}`.
    public func enqueue(_ botID: String) async throws {
        _ = try await pgmq.send(["userId": .string(botID), "continent": "World"])
    }

    /// `PATCH /rest/v1/user?id=eq.<id>` with `last_active = now`.
    public func touch(_ botID: String, now: Date) async throws {
        try await postgrest.update(
            "user", set: ["last_active": .string(BotIdentity.localTimestamp(now))], filters: [.eq("id", botID)])
    }

    /// `POST /rest/v1/message`.
    public func insert(_ message: BotMessage) async throws {
        try await postgrest.insert("message", rows: [message.row])
    }

    /// `POST /rest/v1/bot_analytics`.
    public func record(_ analytics: BotAnalytics) async throws {
        try await postgrest.insert("bot_analytics", rows: [analytics.row])
    }
}
