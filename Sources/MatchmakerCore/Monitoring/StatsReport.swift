import Shared

/// `/stats`: the pass totals at the top level, then one section for each part that runs in this process.
public struct StatsReport: Encodable, Sendable {
    /// Pass totals and the last pass's report.
    public var passes: StatsBook.Snapshot
    /// `embedded`, or `external` for Supabase and PostgreSQL.
    public var backend: String
    /// Messages in the embedded queue.
    public var queueDepth: Int?
    /// Sockets on the embedded hub.
    public var realtimeConnections: Int?
    /// The matchmaker's own Realtime client (the lobby it keeps joined).
    public var realtime: RealtimeStats?
    /// The in-process bots.
    public var bots: BotStats?

    private enum Key: String, CodingKey {
        case backend, queueDepth, realtimeConnections, realtime, bots
    }

    public func encode(to encoder: any Encoder) throws {
        try passes.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(backend, forKey: .backend)
        try container.encodeIfPresent(queueDepth, forKey: .queueDepth)
        try container.encodeIfPresent(realtimeConnections, forKey: .realtimeConnections)
        try container.encodeIfPresent(realtime, forKey: .realtime)
        try container.encodeIfPresent(bots, forKey: .bots)
    }
}

/// A Realtime client's numbers: what its monitor counted and how its pool is laid out.
public struct RealtimeStats: Encodable, Sendable {
    /// Connections, reconnects, errors and response times.
    public var monitor: RealtimeMonitor.Snapshot
    /// Sockets and channels per socket.
    public var pool: RealtimeClient.Stats

    /// Reads `client`'s numbers now.
    public init(_ client: RealtimeClient) {
        monitor = client.monitor.snapshot
        pool = client.stats()
    }
}

/// The bot manager's numbers at the top level, with its Realtime pool's under `realtime`.
public struct BotStats: Encodable, Sendable {
    /// Bots by state, starts, stops and failures.
    public var manager: BotManager.Stats
    /// The pool every bot shares.
    public var realtime: RealtimeStats

    /// Reads `manager`'s numbers now.
    public init(_ manager: BotManager) {
        self.manager = manager.stats
        realtime = RealtimeStats(manager.client)
    }

    private enum Key: String, CodingKey {
        case realtime
    }

    public func encode(to encoder: any Encoder) throws {
        try manager.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(realtime, forKey: .realtime)
    }
}
