import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MatchmakerCore
import Shared
import Synchronization
import TestSupport
import Testing

/// Runs a Realtime client against `port` for the duration of `body`.
///
/// On the real clock (no `time`), connect + join gets 30 s rather than the default 8: the whole suite starts at
/// once on two cores, an attempt of a few milliseconds can take seconds then, and a timed-out attempt is
/// retried, which would upset the tests that count attempts. On a test clock the default stands.
func withClient<T: Sendable>(
    port: Int, version: ProtocolVersion, time: Timekeeper? = nil, unit: @escaping @Sendable () -> Double = { 0.5 },
    handshakeProbe: (any HTTPTransport)? = nil, configure: (inout RealtimeConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (RealtimeClient) async throws -> T
) async throws -> T {
    var configuration = RealtimeConfiguration(url: "http://127.0.0.1:\(port)", apiKey: "test-key", version: version)
    configuration.reconnectBackoff = Backoff(maxRetries: 20, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200))
    configuration.channelBackoff = Backoff(maxRetries: 3, baseDelay: .milliseconds(20), maxDelay: .milliseconds(100))
    if time == nil { configuration.connectTimeout = .seconds(30) }
    configure(&configuration)
    let client = RealtimeClient(
        configuration: configuration, time: time ?? .system, monitor: RealtimeMonitor(), handshakeProbe: handshakeProbe, logger: testLogger,
        unit: unit
    )
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await client.run() }
        do {
            let result = try await body(client)
            group.cancelAll()
            return result
        } catch {
            group.cancelAll()
            throw error
        }
    }
}

extension AsyncStream where Element == ChannelEvent {
    /// The next event matching `predicate`, skipping others.
    func next(where predicate: (ChannelEvent) -> Bool) async -> ChannelEvent? {
        for await event in self where predicate(event) { return event }
        return nil
    }
}

extension ChannelEvent {
    var isSubscribed: Bool { if case .subscribed = self { true } else { false } }
    var isPresenceSync: Bool { if case .presenceSync = self { true } else { false } }
    var isError: Bool { if case .error = self { true } else { false } }
    var isClosed: Bool { if case .closed = self { true } else { false } }
    var isPresence: Bool {
        switch self {
        case .presenceSync, .presenceDiff: true
        default: false
        }
    }
    var broadcastEvent: String? { if case .broadcast(let event, _, _) = self { event } else { nil } }
}

extension RealtimeChannel {
    /// Subscribes; the `RealtimeError` it ends with, or nil once joined (any other error is thrown).
    func subscriptionError() async throws -> RealtimeError? {
        do {
            try await subscribe()
            return nil
        } catch let error as RealtimeError {
            return error
        }
    }
}
