import Foundation
import Logging
import Shared

/// The queue's levels as pgmq reports them (`pgmq.metrics`): every message, leased or not, and the age of the oldest.
public struct QueueLevels: Sendable, Hashable {
    /// Messages in the queue.
    public var depth: Int
    /// Seconds since the oldest message was enqueued; 0 when the queue is empty.
    public var oldestAgeSeconds: Double

    /// Creates levels.
    public init(depth: Int, oldestAgeSeconds: Double) {
        self.depth = depth
        self.oldestAgeSeconds = oldestAgeSeconds
    }

    /// The levels of `rows` at `now` (the embedded pgmq).
    public init(rows: [QueueRow], now: Date) {
        depth = rows.count
        oldestAgeSeconds = rows.map(\.enqueuedAt).min().map { max(0, now.timeIntervalSince($0)) } ?? 0
    }
}

/// What one process is doing, sampled for the periodic status line and the gauges of `/metrics`.
///
/// Each part is nil when it does not run in this process or could not be read.
public struct OpsStatus: Sendable, Hashable {
    /// The Realtime pool's layout (the lobby client of `serve`, or the bots' pool).
    public var pool: RealtimeClient.Stats?
    /// The same client's monitor.
    public var monitor: RealtimeMonitor.Snapshot?
    /// The bot manager's numbers.
    public var bots: BotManager.Stats?
    /// The queue, where it is readable.
    public var queue: QueueLevels?
    /// Rows of `matchmaker_outbox` not yet relayed, where the backend keeps one.
    public var outboxBacklog: Int?

    /// Creates a status.
    public init(
        pool: RealtimeClient.Stats? = nil, monitor: RealtimeMonitor.Snapshot? = nil, bots: BotManager.Stats? = nil,
        queue: QueueLevels? = nil, outboxBacklog: Int? = nil
    ) {
        self.pool = pool
        self.monitor = monitor
        self.bots = bots
        self.queue = queue
        self.outboxBacklog = outboxBacklog
    }

    /// The status line: one message naming every part that is present, and the same numbers as metadata.
    public var line: (message: Logger.Message, metadata: Logger.Metadata) {
        var parts: [String] = []
        var metadata: Logger.Metadata = [:]
        func add(_ text: String, _ fields: KeyValuePairs<String, any CustomStringConvertible>) {
            parts.append(text)
            for (key, value) in fields { metadata[key] = "\(value)" }
        }
        if let pool {
            add(
                "pool \(pool.sockets) sockets, \(pool.channels) channels",
                ["pool.sockets": pool.sockets, "pool.channels": pool.channels])
        }
        if let monitor {
            add(
                "realtime \(monitor.activeConnections) connections, \(monitor.failedConnections) failures",
                ["realtime.connections": monitor.activeConnections, "realtime.failures": monitor.failedConnections])
        }
        if let bots {
            add(
                "bots \(bots.totalBots)/\(bots.target) running, \(bots.waiting) waiting, \(bots.inConversation) in room",
                [
                    "bots.target": bots.target, "bots.running": bots.totalBots, "bots.waiting": bots.waiting,
                    "bots.in_room": bots.inConversation,
                ])
        }
        if let queue {
            let age = (queue.oldestAgeSeconds * 10).rounded() / 10
            add("queue \(queue.depth) messages, oldest \(age) s", ["queue.depth": queue.depth, "queue.oldest_age_seconds": age])
        }
        if let outboxBacklog {
            add("outbox \(outboxBacklog) rows", ["outbox.backlog": outboxBacklog])
        }
        let text = "Status: " + (parts.isEmpty ? "nothing to report" : parts.joined(separator: "; "))
        return ("\(text)", metadata)
    }
}
