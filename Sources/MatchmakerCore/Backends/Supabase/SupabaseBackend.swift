import Foundation
import Logging
import Shared

/// The `supabase` backend: pgmq through `pgmq_public`, tables and the room RPCs through PostgREST,
/// notifications through Realtime's REST broadcast. Every call is one HTTP request; a pass makes
/// O(n) of them (one read, one skip query, one bot query, then a few per pair).
public struct SupabaseBackend: Sendable {
    /// PostgREST.
    public let postgrest: PostgRESTClient
    /// The queue.
    public let pgmq: PgmqClient
    /// REST broadcast.
    public let broadcast: BroadcastClient

    /// Creates the backend over one transport (the project URL and service-role key live in the transport).
    public init(transport: any HTTPTransport, queueName: String, notifyPrivate: Bool) {
        postgrest = PostgRESTClient(transport: transport)
        pgmq = PgmqClient(postgrest: postgrest, queue: queueName)
        broadcast = BroadcastClient(transport: transport, isPrivate: notifyPrivate)
    }

    /// The relay that finishes matches whose pass stopped before both users were told, delivering through
    /// REST broadcast with `settings`' retries.
    /// - Parameter maxAttempts: claims after which an undelivered match is undone.
    public func relay(settings: MatchPass.Settings, maxAttempts: Int = 3, time: Timekeeper = .system, logger: Logger) -> OutboxRelay {
        OutboxRelay(
            outbox: SupabaseMatchOutbox(postgrest: postgrest), notifier: SupabaseNotifier(broadcast: broadcast),
            claimSeconds: settings.claimSeconds, maxAttempts: maxAttempts,
            runner: RetryRunner(backoff: settings.notifyBackoff, attemptTimeout: settings.attemptTimeout, time: time), logger: logger
        )
    }

    /// The pass's ports; presence comes from the Realtime client (or is unavailable).
    public func ports(presence: any PresenceSource) -> MatchPorts {
        MatchPorts(
            queue: SupabaseMatchQueue(pgmq: pgmq),
            presence: presence,
            store: SupabaseMatchStore(backend: self),
            notifier: SupabaseNotifier(broadcast: broadcast)
        )
    }

    /// Nil when the project has the atomic room RPCs from `deploy/supabase/migrations`; otherwise why not.
    ///
    /// Acknowledging a room that does not exist, releasing no message and claiming no match are harmless
    /// and prove the RPCs are installed. Without them the matchmaker refuses to run rather than fall back to the
    /// original's non-atomic inserts.
    public func readiness() async -> String? {
        do {
            _ = try await postgrest.rpc("ack_stranger_match", arguments: ["room_id": "readiness-probe"])
            _ = try await postgrest.rpc(
                "release_stranger_messages",
                arguments: ["queue_name": .string(pgmq.queue), "msg_ids": [], "leased_until": .string(Timestamp.format(Date()))]
            )
            _ = try await postgrest.rpc("claim_stranger_matches", arguments: ["claim_seconds": 1, "max_rows": 0])
            return nil
        } catch let error as UpstreamError where error.code == "PGRST202" {
            return "the matchmaker RPCs are not installed: apply deploy/supabase/migrations"
        } catch {
            return "Supabase is unreachable: \(error)"
        }
    }
}

/// `MatchQueue` over `pgmq_public`.
struct SupabaseMatchQueue: MatchQueue {
    let pgmq: PgmqClient

    func lease(count: Int, leaseSeconds: Int) async throws -> [QueueRow] {
        try await pgmq.read(count: count, leaseSeconds: leaseSeconds)
    }

    func delete(_ msgIDs: [Int64]) async throws {
        for id in msgIDs { _ = try await pgmq.delete(id) }
    }

    func archive(_ msgIDs: [Int64]) async throws {
        for id in msgIDs { _ = try await pgmq.archive(id) }
    }

    func release(_ msgIDs: [Int64], leasedUntil: Date) async throws -> Int {
        guard !msgIDs.isEmpty else { return 0 }
        let released = try await pgmq.postgrest.rpc(
            "release_stranger_messages",
            arguments: [
                "queue_name": .string(pgmq.queue), "msg_ids": .array(msgIDs.map { .number(Double($0)) }),
                "leased_until": .string(Timestamp.format(leasedUntil)),
            ]
        )
        return Int(released?.integerValue ?? 0)
    }
}

/// `MatchStore` over PostgREST: one query for skips, one for bots, one RPC per commit, acknowledgement or undo.
struct SupabaseMatchStore: MatchStore {
    let backend: SupabaseBackend

    func recentSkips(among users: [String], since: Date) async throws -> [Skip] {
        guard !users.isEmpty else { return [] }
        let rows = try await backend.postgrest.select(
            "skipped_pair", columns: "user_a_id,user_b_id,created_at",
            filters: [.gte("created_at", Timestamp.format(since)), .any(of: [("user_a_id", users), ("user_b_id", users)])]
        )
        return rows.compactMap { row in
            guard let a = row["user_a_id"]?.stringValue, let b = row["user_b_id"]?.stringValue,
                let at = row["created_at"]?.stringValue.flatMap(Timestamp.parse)
            else { return nil }
            return Skip(userA: a, userB: b, createdAt: at)
        }
    }

    func botIDs(among users: [String]) async throws -> Set<String> {
        guard !users.isEmpty else { return [] }
        let rows = try await backend.postgrest.select("user", columns: "id", filters: [.is("is_bot", "true"), .in("id", users)])
        return Set(rows.compactMap { $0["id"]?.stringValue })
    }

    func commit(_ match: MatchCommit) async throws {
        _ = try await backend.postgrest.rpc(
            "commit_stranger_match",
            arguments: [
                "queue_name": .string(backend.pgmq.queue), "room_id": .string(match.room.id),
                "user1": .string(match.user1), "user2": .string(match.user2),
                "msg_ids": .array(match.msgIDs.map { .number(Double($0)) }),
                "claim_seconds": .number(Double(match.claimSeconds)),
                "skip_window_seconds": .number(Double(match.skipWindowSeconds)),
                "created_at": .string(Timestamp.format(match.room.createdAt)),
            ]
        )
    }

    func roomNotified(id: String) async throws {
        _ = try await backend.postgrest.rpc("ack_stranger_match", arguments: ["room_id": .string(id)])
    }

    func deleteRoom(id: String) async throws {
        _ = try await backend.postgrest.rpc("delete_stranger_room", arguments: ["room_id": .string(id)])
    }
}

/// `MatchOutbox` over PostgREST: `claim_stranger_matches`, `ack_stranger_match`, `delete_stranger_room`.
struct SupabaseMatchOutbox: MatchOutbox {
    let postgrest: PostgRESTClient

    func claimAbandoned(limit: Int, claimSeconds: Int) async throws -> [AbandonedMatch] {
        let rows = try await postgrest.rpc(
            "claim_stranger_matches", arguments: ["claim_seconds": .number(Double(claimSeconds)), "max_rows": .number(Double(limit))])
        guard case .array(let claimed)? = rows else { return [] }
        return claimed.compactMap { row in
            guard let roomID = row["room_id"]?.stringValue else { return nil }
            let users: [String] =
                if case .array(let users)? = row["users"] { users.compactMap(\.stringValue) } else { [] }
            return AbandonedMatch(
                roomID: roomID, room: try? row["room"]?.decode(as: Room.self), users: users,
                attempts: Int(row["attempts"]?.integerValue ?? 1))
        }
    }

    func acknowledge(roomID: String) async throws {
        _ = try await postgrest.rpc("ack_stranger_match", arguments: ["room_id": .string(roomID)])
    }

    func undo(roomID: String) async throws {
        _ = try await postgrest.rpc("delete_stranger_room", arguments: ["room_id": .string(roomID)])
    }
}

/// `Notifier` over Realtime's REST broadcast: `user:<id>`, 202 = delivered to Realtime.
struct SupabaseNotifier: Notifier {
    let broadcast: BroadcastClient

    func send(_ notification: UserNotification) async throws {
        try await broadcast.send(topic: notification.topic, event: notification.event, payload: notification.payload)
    }
}

/// Presence when no lobby connection is configured: every pass runs degraded and says why.
public struct UnavailablePresence: PresenceSource {
    /// Why presence is unavailable.
    public let reason: String

    /// Creates the source.
    public init(reason: String) { self.reason = reason }

    public func snapshot() async -> PresenceSnapshot { .unavailable(reason: reason) }
}
