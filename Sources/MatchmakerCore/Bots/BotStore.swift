import Foundation
import Shared

/// The bots' writes through PostgREST: their `user` rows, messages, analytics, and the queue.
///
/// Every write is one attempt; a failure is thrown for the caller to log, because a lost analytics row or
/// `last_active` stamp must never stop a conversation.
public struct BotStore: Sendable {
    let postgrest: PostgRESTClient
    let pgmq: PgmqClient

    /// Creates a store over `transport` for the queue `queue`.
    public init(transport: any HTTPTransport, queue: String = "stranger-queue") {
        postgrest = PostgRESTClient(transport: transport)
        pgmq = PgmqClient(postgrest: postgrest, queue: queue)
    }

    /// `POST /rest/v1/user?on_conflict=id` with `Prefer: resolution=merge-duplicates`: the bot's row, reused.
    public func upsertUser(_ identity: BotIdentity, now: Date) async throws {
        try await postgrest.insert("user", rows: [identity.userRow(now: now)], upsertOn: "id")
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
