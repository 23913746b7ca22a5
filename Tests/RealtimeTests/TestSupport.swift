import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MatchmakerCore
import Shared
import Synchronization
import TestSupport
import Testing

/// A clock that moves only when the test says so; every sleep is announced on `sleeps`.
final class ManualTime: Sendable {
    private struct Sleeper {
        var deadline: Date
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Date
        var sleepers: [Int: Sleeper] = [:]
        var cancelled: Set<Int> = []
        var nextID = 0
    }

    private let state: Mutex<State>
    /// Every requested sleep duration, in request order.
    let sleeps: AsyncStream<Duration>
    private let announce: AsyncStream<Duration>.Continuation

    init(start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        state = Mutex(State(now: start))
        (sleeps, announce) = AsyncStream.makeStream(of: Duration.self)
    }

    var now: Date { state.withLock { $0.now } }

    var timekeeper: Timekeeper {
        Timekeeper(now: { self.now }, sleep: { try await self.sleep($0) })
    }

    func sleep(_ duration: Duration) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if duration <= .zero { return .success(()) }
                    state.sleepers[id] = Sleeper(deadline: state.now.addingTimeInterval(duration.seconds), continuation: continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) } else { announce.yield(duration) }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                guard let sleeper = state.sleepers.removeValue(forKey: id) else {
                    state.cancelled.insert(id)
                    return nil
                }
                return sleeper
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock forward and wakes every sleeper that is due.
    func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now = state.now.addingTimeInterval(duration.seconds)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return Array(due.values)
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}

/// Hands out numbers from a list, then repeats the last: deterministic jitter.
final class ScriptedUnits: Sendable {
    private let values: Mutex<[Double]>

    init(_ values: [Double]) { self.values = Mutex(values) }

    func next() -> Double {
        values.withLock { values in
            values.count > 1 ? values.removeFirst() : (values.first ?? 0.5)
        }
    }
}

/// Runs a Realtime client against `port` for the duration of `body`.
func withClient<T: Sendable>(
    port: Int, version: ProtocolVersion, time: Timekeeper = .system, unit: @escaping @Sendable () -> Double = { 0.5 },
    handshakeProbe: (any HTTPTransport)? = nil, configure: (inout RealtimeConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (RealtimeClient) async throws -> T
) async throws -> T {
    var configuration = RealtimeConfiguration(url: "http://127.0.0.1:\(port)", apiKey: "test-key", version: version)
    configuration.reconnectBackoff = Backoff(maxRetries: 20, baseDelay: .milliseconds(20), maxDelay: .milliseconds(200))
    configuration.channelBackoff = Backoff(maxRetries: 3, baseDelay: .milliseconds(20), maxDelay: .milliseconds(100))
    configure(&configuration)
    let client = RealtimeClient(
        configuration: configuration, time: time, monitor: RealtimeMonitor(), handshakeProbe: handshakeProbe, logger: testLogger, unit: unit
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
