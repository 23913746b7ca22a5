import Foundation
import Logging
import Shared

/// The `supabase` backend: pgmq through `pgmq_public`, tables and the room RPCs through PostgREST,
/// notifications through Realtime's REST broadcast. Every call is one HTTP request; a pass makes a
/// constant number of them whatever its size, retries aside: one read, one skip query, one bot query,
/// one `commit_stranger_matches`, one broadcast of every notification (up to 1,000 a request), one
/// `ack_stranger_matches` and one release.
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
    /// Acknowledging a room that does not exist, releasing no message, claiming no match and asking for no idle
    /// bot are harmless
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
            _ = try await postgrest.rpc("ack_stranger_matches", arguments: ["room_ids": []])
            _ = try await postgrest.rpc("idle_bots", arguments: ["max_rows": 0])
            return nil
        } catch let error as UpstreamError where error.code == "PGRST202" {
            return "the matchmaker RPCs are not installed: apply deploy/supabase/migrations"
        } catch {
            return "Supabase is unreachable: \(error)"
        }
    }

    /// Rows of `matchmaker_outbox` for `queueName`, read through PostgREST (the service role may select them). A
    /// select returns at most the project's `max-rows` (1,000 on Supabase), so the count stops there: enough for
    /// "the backlog does not drain", not an exact depth beyond it.
    public func outboxBacklog(queueName: String) async throws -> Int {
        try await postgrest.select("matchmaker_outbox", columns: "room_id", filters: [.eq("queue_name", queueName)]).count
    }
}
