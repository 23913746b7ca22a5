import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// The Realtime client: a pool of sockets, each carrying at most `maxChannelsPerConnection` channels, with one
/// join-rate limiter for all of them. Run it as a `Service`; sockets are opened on demand and closed when empty.
public actor RealtimeClient: Service {
    /// Pool numbers for `/stats` and tests.
    public struct Stats: Sendable, Codable, Hashable {
        /// Open or connecting sockets.
        public var sockets: Int
        /// Channels on each socket, in socket order.
        public var channelsPerSocket: [Int]
        /// Joins admitted and not finished.
        public var joinsInFlight: Int
        /// Joins admitted since start.
        public var joinsAdmitted: Int
        /// The most `phx_join` frames sent in any one second since start (at most `REALTIME_JOINS_PER_SECOND`).
        public var busiestJoinSecond = 0

        /// Channels across the pool.
        public var channels: Int { channelsPerSocket.reduce(0, +) }

        /// A pool of `channelsPerSocket.count` sockets.
        public init(sockets: Int, channelsPerSocket: [Int], joinsInFlight: Int = 0, joinsAdmitted: Int = 0, busiestJoinSecond: Int = 0) {
            self.sockets = sockets
            self.channelsPerSocket = channelsPerSocket
            self.joinsInFlight = joinsInFlight
            self.joinsAdmitted = joinsAdmitted
            self.busiestJoinSecond = busiestJoinSecond
        }
    }

    /// The configuration.
    public nonisolated let configuration: RealtimeConfiguration
    /// Connection metrics.
    public nonisolated let monitor: RealtimeMonitor
    private let time: Timekeeper
    private let logger: Logger
    private let unit: @Sendable () -> Double
    private let probe: (any HTTPTransport)?
    private let gate: JoinGate
    private let sockets = Mutex<[RealtimeSocket]>([])
    private var nextSocketID = 0
    private let newSockets: AsyncStream<RealtimeSocket>
    private let socketStarter: AsyncStream<RealtimeSocket>.Continuation

    /// Creates a client.
    /// - Parameters:
    ///   - time: the clock of timeouts, backoff, heartbeats and the join limiter (injected in tests).
    ///   - handshakeProbe: an HTTP transport to the project (base URL `configuration.url`, sending `apikey`). `WSClient`
    ///     does not expose the status of a refused upgrade, so the socket asks this transport for it: 401/403/404
    ///     then stop at once. Without one, a refused upgrade is retried like any connection failure.
    ///   - unit: uniform random numbers in `0..<1` for jitter.
    public init(
        configuration: RealtimeConfiguration, time: Timekeeper = .system, monitor: RealtimeMonitor = RealtimeMonitor(),
        handshakeProbe: (any HTTPTransport)? = nil, logger: Logger, unit: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.configuration = configuration
        self.probe = handshakeProbe
        self.time = time
        self.monitor = monitor
        self.logger = logger
        self.unit = unit
        gate = JoinGate(perSecond: configuration.joinsPerSecond, margin: configuration.joinWindowMargin, time: time)
        (newSockets, socketStarter) = AsyncStream.makeStream(of: RealtimeSocket.self)
    }

    /// Runs every socket of the pool until cancelled or shut down gracefully.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for await socket in self.newSockets {
                    group.addTask {
                        await socket.run()
                        self.sockets.withLock { $0.removeAll { $0 === socket } }
                    }
                }
            }
        }
    }

    /// A channel on `realtime:<name>`, placed on a socket with room (a new socket when all are full).
    ///
    /// A second call for a topic already in the pool returns the existing channel, as realtime-js does; with
    /// `exclusive` it gets a channel of its own on a socket without that topic (Phoenix allows one join per topic
    /// per socket), which is how many bots each keep their own presence in one lobby. A `stateOnly` channel is
    /// read for its `presence` and `isSynced` alone: its `events` keep nothing that no one is awaiting, so a lobby
    /// watched for hours holds no backlog of diffs.
    public func channel(_ name: String, options: ChannelOptions = ChannelOptions(), exclusive: Bool = false, stateOnly: Bool = false)
        -> RealtimeChannel
    {
        let topic = "realtime:\(name)"
        let pool = sockets.withLock { $0 }
        for socket in pool where !exclusive {
            if let existing = socket.channel(topic: topic) { return existing }
        }
        let machine = ChannelStateMachine(
            backoff: configuration.channelBackoff, joinTimeout: configuration.connectTimeout, awaitsPresence: options.presenceEnabled)
        for socket in pool {
            let channel = RealtimeChannel(
                name: name, options: options, stateOnly: stateOnly, socket: socket, machine: machine, budget: configuration.presenceBudget
            )
            if socket.register(channel, limit: configuration.maxChannelsPerConnection) { return channel }
        }
        nextSocketID += 1
        let socket = RealtimeSocket(
            id: nextSocketID, configuration: configuration, time: time, gate: gate, monitor: monitor, probe: probe, logger: logger,
            unit: unit
        )
        let channel = RealtimeChannel(
            name: name, options: options, stateOnly: stateOnly, socket: socket, machine: machine, budget: configuration.presenceBudget)
        _ = socket.register(channel, limit: configuration.maxChannelsPerConnection)
        sockets.withLock { $0.append(socket) }
        socketStarter.yield(socket)
        return channel
    }

    /// Sockets, channels per socket and joins in flight.
    public nonisolated func stats() -> Stats {
        let pool = sockets.withLock { $0 }
        return Stats(
            sockets: pool.count, channelsPerSocket: pool.map(\.channelCount), joinsInFlight: gate.inFlight, joinsAdmitted: gate.admitted,
            busiestJoinSecond: gate.busiestSecond
        )
    }
}
