import Synchronization

/// The port a server is listening on, known once it binds (the configured one, or the one the system
/// picked for port 0); every reader waits for it.
public final class BoundPort: Sendable {
    private struct State {
        var port: Int?
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Int?, Never>] = [:]
    }

    private let state = Mutex(State())

    /// Creates a port not yet bound.
    public init() {}

    /// Records the port and wakes every reader; later calls are ignored.
    public func bind(_ port: Int) {
        let waiters = state.withLock { state -> [CheckedContinuation<Int?, Never>] in
            guard state.port == nil else { return [] }
            state.port = port
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: port) }
    }

    /// The port once the server listens, or nil when the waiting task is cancelled first.
    public func value() async -> Int? {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let port = state.withLock { state -> Int?? in
                    if let port = state.port { return .some(port) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let port { continuation.resume(returning: port) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
        }
    }
}
