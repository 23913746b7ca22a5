import EmbeddedSupabase
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MatchmakerCore
import ServiceLifecycle
import Shared
import TestSupport
import Testing

/// Suites that run servers and many sockets: one at a time, so that a storm never starves a timing check.
@Suite(.serialized) struct LiveBotTests {}

/// `serve` on the embedded backend on a free port, as `main` builds it, with a pass every `interval`.
func withMatchmaker<T: Sendable>(
    backend: EmbeddedBackend = EmbeddedBackend(), botFillAfter: TimeInterval = 0.5, interval: Duration = .milliseconds(100),
    _ body: @escaping @Sendable (Int, EmbeddedBackend) async throws -> T
) async throws -> T {
    try await withLiveServer(
        backend: backend,
        configure: { config in
            config.pass.policy.botFillAfter = botFillAfter
            config.matchInterval = interval
        }, body)
}

/// A Realtime configuration for `port` with the test's quick retries.
func realtimeConfiguration(port: Int, joinsPerSecond: Int = 100) -> RealtimeConfiguration {
    var configuration = RealtimeConfiguration(url: "http://127.0.0.1:\(port)", apiKey: "test-key")
    configuration.reconnectBackoff = Backoff(maxRetries: 20, baseDelay: .milliseconds(200), maxDelay: .seconds(2))
    configuration.channelBackoff = Backoff(maxRetries: 3, baseDelay: .milliseconds(50), maxDelay: .milliseconds(200))
    configuration.joinsPerSecond = joinsPerSecond
    return configuration
}

/// The bot service on `port` for the duration of `body`; then a graceful shutdown, as on SIGTERM.
/// - Parameter storeTransport: what the bots' `BotStore` sends through, given the recording transport (a fault injector).
func withBots<T: Sendable>(
    port: Int, count: Int, configure: (inout BotManager.Settings, inout RealtimeConfiguration) -> Void = { _, _ in },
    storeTransport: (RecordingTransport) -> any HTTPTransport = { $0 },
    _ body: @escaping @Sendable (BotManager, RecordingTransport) async throws -> T
) async throws -> T {
    var settings = BotManager.Settings()
    settings.target = BotTarget(min: count, max: count, percentage: 30)
    settings.interval = .seconds(600)
    settings.stagger = Stagger(min: .zero, max: .zero)
    settings.timings = BotTimings().scaled(by: 0.01)
    var configuration = realtimeConfiguration(port: port)
    configure(&settings, &configuration)
    let http = AsyncHTTPTransport.makeClient()
    // Row writes share the embedded server with every bot's socket: a generous timeout keeps a loaded machine's
    // slow answers from counting as failures.
    let recorder = RecordingTransport(
        recording: AsyncHTTPTransport(
            client: http, baseURL: "http://127.0.0.1:\(port)", apiKey: "test-key", timeout: .seconds(20), logger: testLogger))
    let client = RealtimeClient(configuration: configuration, logger: testLogger)
    let manager = BotManager(
        settings: settings, client: client, store: BotStore(transport: storeTransport(recorder)), presence: LobbyObserver(client: client),
        logger: testLogger)
    let group = ServiceGroup(
        configuration: ServiceGroupConfiguration(
            services: [.init(service: HTTPClientService(client: http)), .init(service: client), .init(service: manager)], logger: testLogger
        )
    )
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        do {
            let result = try await body(manager, recorder)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

/// A simulated human: its own Realtime client, lobby presence, user channel and room, like the web client.
struct Human: Sendable {
    let id: String
    let client: RealtimeClient
    let lobby: RealtimeChannel
    let inbox: RealtimeChannel

    /// Joins the lobby (tracking `idle`) and `user:<id>`.
    static func join(_ id: String, client: RealtimeClient) async throws -> Human {
        let lobby = await client.channel("global:lobby", options: ChannelOptions(presenceKey: id, presenceEnabled: true), exclusive: true)
        let inbox = await client.channel("user:\(id)", options: ChannelOptions(broadcastAck: true, broadcastSelf: true, presenceKey: id))
        try await lobby.subscribe()
        try await inbox.subscribe()
        try await lobby.track(["status": "idle"])
        return Human(id: id, client: client, lobby: lobby, inbox: inbox)
    }

    /// Tracks `waiting`, then enqueues as the app server does (for a signed-in user: a `user` row).
    func findStranger(backend: EmbeddedBackend) async throws {
        try await lobby.track(["status": "waiting"])
        try backend.store.addUsers([id])
        _ = try backend.pgmq.send(backend.queueName, message: ["userId": .string(id), "continent": "World"])
    }

    /// The room of the next `stranger_matched`.
    func matchedRoom() async throws -> String {
        for await event in inbox.events {
            if case .broadcast("stranger_matched", let payload, _) = event, let room = payload["room"]?["id"]?.stringValue { return room }
        }
        throw CancellationError()
    }

    /// Joins `room:<id>` as the web client does.
    func enter(_ roomID: String) async throws -> RealtimeChannel {
        let room = await client.channel(
            "room:\(roomID)", options: ChannelOptions(broadcastAck: true, broadcastSelf: true, presenceKey: id, presenceEnabled: true))
        try await room.subscribe()
        try await room.track(["user_id": .string(id), "name": "Human"])
        return room
    }
}

/// Runs a client against `port` for the duration of `body`.
func withClient<T: Sendable>(port: Int, _ body: @escaping @Sendable (RealtimeClient) async throws -> T) async throws -> T {
    let client = RealtimeClient(configuration: realtimeConfiguration(port: port), logger: testLogger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.run() }
        defer { group.cancelAll() }
        return try await body(client)
    }
}

/// Waits until `predicate` holds for the lobby's presence as `channel` sees it now.
///
/// Events may be old (the stream buffers), so each one only prompts a look at the channel's current state.
func lobbyState(_ channel: RealtimeChannel, until predicate: @Sendable ([String: [JSONValue]]) -> Bool) async -> [String: [JSONValue]]? {
    if predicate(channel.presence.entries) { return channel.presence.entries }
    for await _ in channel.events {
        let current = channel.presence.entries
        if predicate(current) { return current }
    }
    return nil
}

/// Waits until `count` bots are idle in `backend`'s bot registry (ready to be claimed), and returns them.
@discardableResult
func idleBots(_ backend: EmbeddedBackend, count: Int, within limit: Duration = .seconds(30)) async throws -> Set<String> {
    try await eventually(within: limit) { backend.store.idleBots(limit: .max).count >= count }
    return Set(backend.store.idleBots(limit: .max))
}

/// Runs `body`, failing the test and cancelling `body` if it takes longer than `limit`, so that a lost event
/// fails one test instead of hanging the whole run (the suite's time limit only applies between tests).
func withWatchdog(_ limit: Duration = .seconds(90), _ body: @escaping @Sendable () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            try await body()
            return true
        }
        group.addTask {
            try await Task.sleep(for: limit)
            return false
        }
        let finished = try await group.next() ?? false
        group.cancelAll()
        if !finished { Issue.record("still running after \(limit): cancelled") }
    }
}
