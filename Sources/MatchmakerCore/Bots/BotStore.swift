import Foundation
import Shared

/// The bots' writes through PostgREST: their `user` rows, messages, analytics, and the bot registry
/// (`lease_bots`, `ready_bots`: `docs/contract.md` §8) under this process's `owner` name.
///
/// Every write is one attempt (`BotInstance` retries the `user` row); a failure is thrown for the caller to log,
/// because a lost analytics row or `last_active` stamp must never stop a conversation.
public struct BotStore: Sendable {
    /// One registry row this process holds.
    public struct Lease: Sendable, Hashable {
        /// The bot identity.
        public var botID: String
        /// Whether the matchmaker may claim it now.
        public var idle: Bool
        /// When the matchmaker last claimed it (nil: not since it became idle).
        public var claimedAt: Date?
    }

    let postgrest: PostgRESTClient
    /// The name this process holds its leases under: unique per start, so a restart never renews a
    /// dead process's leases by accident.
    public let owner: String

    /// Creates a store over `transport`; `owner` names this process in the registry.
    public init(transport: any HTTPTransport, owner: String = "bots-" + String(UInt64.random(in: .min ... .max), radix: 36)) {
        postgrest = PostgRESTClient(transport: transport)
        self.owner = owner
    }

    /// `lease_bots`: holds exactly the identities `botIDs` that are free or already this process's, for
    /// `leaseSeconds` more, and releases the others it held; returns what it holds now.
    public func lease(_ botIDs: [String], seconds: Int) async throws -> [Lease] {
        let rows = try await postgrest.rpc(
            "lease_bots",
            arguments: [
                "owner": .string(owner), "bot_ids": .array(botIDs.map(JSONValue.string)), "lease_seconds": .number(JSONNumber(seconds)),
            ])
        guard case .array(let elements)? = rows else { return [] }
        return elements.compactMap { row in
            guard let id = row["bot_id"]?.stringValue else { return nil }
            return Lease(
                botID: id, idle: row["idle"] == .bool(true), claimedAt: row["claimed_at"]?.stringValue.flatMap(Timestamp.parse))
        }
    }

    /// `ready_bots`: these bots, which have just left `finishedRoom` (nil: they were in none), are idle and
    /// the matchmaker may claim them; a claim made meanwhile for another room is kept.
    public func ready(_ botIDs: [String], after finishedRoom: String?) async throws {
        try await readyBots(botIDs, finishedRoom.map { ["finished_room": .string($0)] } ?? [:])
    }

    /// `ready_bots` with `stale_claim_seconds`: of these bots, those claimed longer ago than that and not idle
    /// since (a claim whose notice never came) are idle again.
    public func repairClaims(_ botIDs: [String], olderThan staleClaimSeconds: Int) async throws {
        try await readyBots(botIDs, ["stale_claim_seconds": .number(JSONNumber(staleClaimSeconds))])
    }

    /// `ready_bots` for this owner's `botIDs`, with the condition in `condition`.
    private func readyBots(_ botIDs: [String], _ condition: [String: JSONValue]) async throws {
        let arguments = condition.merging(["owner": .string(owner), "bot_ids": .array(botIDs.map(JSONValue.string))]) { $1 }
        _ = try await postgrest.rpc("ready_bots", arguments: arguments)
    }

    /// Writes the bot's `user` row, reused across restarts, in two calls:
    /// `POST /rest/v1/user?on_conflict=id` with `Prefer: resolution=ignore-duplicates` inserts the full row
    /// (`BotIdentity.userRow(now:)`) the first time and leaves an existing one alone, then
    /// `PATCH /rest/v1/user?id=eq.<id>` brings an existing row up to date (`BotIdentity.userUpdate(now:)`).
    ///
    /// One `merge-duplicates` upsert cannot do this: PostgREST updates every column it was sent, and the insert
    /// must send `created_at` (the app's table has no default for it), so a restart would overwrite the first
    /// start's `created_at`. A failure of either call is thrown: the bot must not become available without its
    /// row (the room's foreign keys would refuse it).
    public func upsertUser(_ identity: BotIdentity, now: Date) async throws {
        try await postgrest.insert("user", rows: [identity.userRow(now: now)], upsertOn: "id", resolution: .ignoreDuplicates)
        try await postgrest.update("user", set: identity.userUpdate(now: now), filters: [.eq("id", identity.id)])
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
