import Foundation
import Shared

/// The in-memory stand-in for the slice of Supabase the matchmaker uses: queue, tables, presence, notifications.
public struct EmbeddedBackend: Sendable {
    /// The pgmq queues.
    public let pgmq: EmbeddedPgmq
    /// The tables.
    public let store: EmbeddedStore
    /// The lobby.
    public let presence: EmbeddedPresence
    /// UserNotification delivery.
    public let notifier: EmbeddedNotifier
    /// Injected failures.
    public let faults: EmbeddedFaults
    /// The local Realtime hub: the lobby's presence and the `user:<id>` notifications live here.
    public let hub: RealtimeHub
    /// The queue the matchmaker reads.
    public let queueName: String

    /// Creates an empty backend with the queue `queueName`.
    ///
    /// Until a socket joins the hub's `global:lobby` (or a test sets presence), presence is unavailable and
    /// passes run degraded (nobody is dropped for it). Notifications are broadcast through the hub.
    public init(queueName: String = "stranger-queue", time: Timekeeper = .system, hub: RealtimeHub = RealtimeHub()) {
        let faults = EmbeddedFaults()
        self.faults = faults
        self.queueName = queueName
        self.hub = hub
        let database = EmbeddedDatabase(queues: [queueName])
        pgmq = EmbeddedPgmq(database: database, time: time, faults: faults)
        store = EmbeddedStore(database: database, faults: faults, time: time)
        presence = EmbeddedPresence(.unavailable(reason: "no lobby connected to the embedded backend"), live: { hub.lobbySnapshot() })
        notifier = EmbeddedNotifier(faults: faults) { notification in
            hub.broadcast(name: notification.topic, event: notification.event, payload: notification.payload)
        }
    }

    /// The pass's ports over this backend.
    public var ports: MatchPorts {
        MatchPorts(queue: EmbeddedMatchQueue(pgmq: pgmq, name: queueName), presence: presence, store: store, notifier: notifier)
    }
}

/// The pass's view of one embedded queue.
struct EmbeddedMatchQueue: MatchQueue {
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
