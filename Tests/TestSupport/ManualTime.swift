import Foundation
import Shared
import Synchronization

/// A clock that moves only when the test says so; every sleep is announced on `sleeps`.
public final class ManualTime: Sendable {
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
    public let sleeps: AsyncStream<Duration>
    private let announce: AsyncStream<Duration>.Continuation

    public init(start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        state = Mutex(State(now: start))
        (sleeps, announce) = AsyncStream.makeStream(of: Duration.self)
    }

    public var now: Date { state.withLock { $0.now } }

    public var timekeeper: Timekeeper {
        Timekeeper(now: { self.now }, sleep: { try await self.sleep($0) })
    }

    public func sleep(_ duration: Duration) async throws {
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
    public func advance(by duration: Duration) {
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
public final class ScriptedUnits: Sendable {
    private let values: Mutex<[Double]>

    public init(_ values: [Double]) { self.values = Mutex(values) }

    public func next() -> Double {
        values.withLock { values in
            values.count > 1 ? values.removeFirst() : (values.first ?? 0.5)
        }
    }
}
