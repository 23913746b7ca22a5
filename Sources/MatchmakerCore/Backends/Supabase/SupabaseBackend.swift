import Foundation
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
    /// The skip window re-checked inside the commit RPC, in whole seconds.
    public let skipWindowSeconds: Int
    /// How long a committed match's notifications belong to the committing pass.
    public let claimSeconds: Int

    /// Creates the backend over one transport (the project URL and service-role key live in the transport).
    public init(transport: any HTTPTransport, queueName: String, notifyPrivate: Bool, skipWindow: TimeInterval, leaseSeconds: Int) {
        postgrest = PostgRESTClient(transport: transport)
        pgmq = PgmqClient(postgrest: postgrest, queue: queueName)
        broadcast = BroadcastClient(transport: transport, isPrivate: notifyPrivate)
        skipWindowSeconds = Int(skipWindow.rounded(.up))
        claimSeconds = max(2 * leaseSeconds, 10)
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
    /// Acknowledging a room that does not exist and releasing no message are harmless and prove the
    /// RPCs are installed. Without them the matchmaker refuses to run rather than fall back to the
    /// original's non-atomic inserts.
    public func readiness() async -> String? {
        do {
            _ = try await postgrest.rpc("ack_stranger_match", arguments: ["room_id": "readiness-probe"])
            _ = try await postgrest.rpc(
                "release_stranger_messages",
                arguments: ["queue_name": .string(pgmq.queue), "msg_ids": [], "leased_until": .string(Timestamp.format(Date()))]
            )
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

/// `MatchStore` over PostgREST: one query for skips, one for bots, one RPC per commit.
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

    func createRoom(_ room: Room, members: [String]) async throws {
        _ = try await backend.postgrest.rpc(
            "create_stranger_room",
            arguments: [
                "room_id": .string(room.id), "user1": .string(members[0]), "user2": .string(members[1]),
                "created_at": .string(Timestamp.format(room.createdAt)),
            ]
        )
    }

    func commitRoom(_ room: Room, members: [String], consuming msgIDs: [Int64]) async throws -> Bool {
        _ = try await backend.postgrest.rpc(
            "commit_stranger_match",
            arguments: [
                "queue_name": .string(backend.pgmq.queue), "room_id": .string(room.id),
                "user1": .string(members[0]), "user2": .string(members[1]),
                "msg_ids": .array(msgIDs.map { .number(Double($0)) }),
                "claim_seconds": .number(Double(backend.claimSeconds)),
                "skip_window_seconds": .number(Double(backend.skipWindowSeconds)),
                "created_at": .string(Timestamp.format(room.createdAt)),
            ]
        )
        return true
    }

    func roomNotified(id: String) async throws {
        _ = try await backend.postgrest.rpc("ack_stranger_match", arguments: ["room_id": .string(id)])
    }

    func deleteRoom(id: String) async throws {
        _ = try await backend.postgrest.rpc("delete_stranger_room", arguments: ["room_id": .string(id)])
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
