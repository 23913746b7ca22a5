import EmbeddedSupabase
import Foundation
import Shared

/// The embedded backend: the pass's ports over the in-memory Supabase stand-in (`EmbeddedSupabase`).
public struct EmbeddedBackend: Sendable {
    /// The stand-in itself, whose routes `serve` then serves.
    public let supabase: EmbeddedSupabase
    /// The lobby.
    public let presence: EmbeddedPresence
    /// UserNotification delivery.
    public let notifier: EmbeddedNotifier
    /// The queue the matchmaker reads.
    public let queueName: String

    /// The pgmq queues.
    public var pgmq: EmbeddedPgmq { supabase.pgmq }
    /// The tables.
    public var store: EmbeddedStore { supabase.store }
    /// Injected failures.
    public var faults: EmbeddedFaults { supabase.faults }
    /// The local Realtime hub: the lobby's presence and the `user:<id>` notifications live here.
    public var hub: RealtimeHub { supabase.hub }
    /// The clock of the queue and tables.
    public let time: Timekeeper

    /// Creates an empty backend with the queue `queueName`.
    ///
    /// Until a socket joins the hub's `global:lobby` (or a test sets presence), presence is unavailable and
    /// passes run degraded (nobody is dropped for it). Notifications are broadcast through the hub; the notifier
    /// keeps a log of them (for fixtures and tests) when `keepsNotificationLog`.
    public init(
        queueName: String = "stranger-queue", time: Timekeeper = .system, hub: RealtimeHub = RealtimeHub(),
        queueLimits: EmbeddedPgmq.Limits = .init(), keepsNotificationLog: Bool = true
    ) {
        let supabase = EmbeddedSupabase(queues: [queueName], time: time, hub: hub, queueLimits: queueLimits)
        self.supabase = supabase
        self.queueName = queueName
        self.time = time
        presence = EmbeddedPresence(.unavailable(reason: "no lobby connected to the embedded backend"), live: { hub.lobbySnapshot() })
        notifier = EmbeddedNotifier(faults: supabase.faults, keepsLog: keepsNotificationLog) { notification in
            hub.broadcast(name: notification.topic, event: notification.event, payload: notification.payload)
        }
    }

    /// A server's backend: its queue holds at most `queueMaxMessages` (`EMBEDDED_QUEUE_MAX_MESSAGES`), its hub
    /// has `hubSettings` (`EMBEDDED_SOCKETS_PER_ADDRESS`, `EMBEDDED_PRESENCE_BYTES_PER_SOCKET`), and its notifier
    /// keeps no log.
    public init(queueName: String, queueMaxMessages: Int, hubSettings: RealtimeHub.Settings = .init()) {
        var limits = EmbeddedPgmq.Limits()
        limits.maxQueueLength = queueMaxMessages
        self.init(queueName: queueName, hub: RealtimeHub(settings: hubSettings), queueLimits: limits, keepsNotificationLog: false)
    }

    /// The queue's levels now, on the backend's clock.
    public func queueLevels() -> QueueLevels { QueueLevels(rows: pgmq.rows(queueName), now: time.now()) }

    /// Matches committed and not yet acknowledged or undone (the stand-in's `matchmaker_outbox`).
    public func outboxBacklog() -> Int { store.pendingMatches(queue: queueName) }

    /// The pass's ports over this backend.
    public var ports: MatchPorts {
        MatchPorts(
            queue: EmbeddedMatchQueue(pgmq: pgmq, name: queueName), presence: presence,
            store: EmbeddedMatchStore(store: store, queueName: queueName), notifier: notifier
        )
    }
}

/// The pass's view of one embedded queue.
struct EmbeddedMatchQueue: MatchQueue, InProcessPort {
    let pgmq: EmbeddedPgmq
    let name: String

    func lease(count: Int, leaseSeconds: Int) async throws -> [QueueRow] {
        try pgmq.read(name, visibilityTimeout: leaseSeconds, count: count)
    }

    func delete(_ msgIDs: [Int64]) async throws {
        for id in msgIDs { _ = try pgmq.delete(name, msgID: id) }
    }

    func archive(_ msgIDs: [Int64]) async throws {
        for id in msgIDs { _ = try pgmq.archive(name, msgID: id) }
    }

    func release(_ msgIDs: [Int64], leasedUntil: Date) async throws -> Int {
        try pgmq.release(name, msgIDs: msgIDs, leasedUntil: leasedUntil)
    }
}
