import NIOCore
import NIOPosix
import Synchronization

/// `Task.sleep(for:)`, except that cancelling the sleep lets go of the sleeping task at once.
///
/// On Linux the concurrency runtime keeps a cancelled `Task.sleep`'s timer, and with it the sleeping task's own
/// memory (about 1 KB), until the original deadline. The hub's 60 s idle timer thus kept that much of each closed
/// socket for a minute, so that a storm of short connections grew the server by a minute's worth of them
/// (bench/RESULTS.md, "Soak"). This sleep is a task scheduled on an event loop, which cancellation removes.
public enum CancellableSleep {
    /// Suspends for `duration`; throws `CancellationError` as soon as the task is cancelled.
    public static func sleep(for duration: Duration) async throws {
        let sleeper = Sleeper()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { sleeper.start($0, after: duration) }
        } onCancel: {
            sleeper.cancel()
        }
    }
}

/// One sleep's state: the cancellation handler may run before, during or after `start`.
private final class Sleeper: Sendable {
    private enum State {
        case idle
        case sleeping(CheckedContinuation<Void, any Error>, Scheduled<Void>)
        case cancelled
        case done
    }

    private let state = Mutex(State.idle)

    func start(_ continuation: CheckedContinuation<Void, any Error>, after duration: Duration) {
        let started = state.withLock { state -> Bool in
            guard case .idle = state else { return false }
            let scheduled = MultiThreadedEventLoopGroup.singleton.next().scheduleTask(in: TimeAmount(duration)) { self.ring() }
            state = .sleeping(continuation, scheduled)
            return true
        }
        if !started { continuation.resume(throwing: CancellationError()) }
    }

    private func ring() {
        let continuation = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard case .sleeping(let continuation, _) = state else { return nil }
            state = .done
            return continuation
        }
        continuation?.resume()
    }

    func cancel() {
        let sleep = state.withLock { state -> (CheckedContinuation<Void, any Error>, Scheduled<Void>)? in
            switch state {
            case .idle:
                state = .cancelled
                return nil
            case .sleeping(let continuation, let scheduled):
                state = .cancelled
                return (continuation, scheduled)
            case .cancelled, .done:
                return nil
            }
        }
        guard let (continuation, scheduled) = sleep else { return }
        scheduled.cancel()
        continuation.resume(throwing: CancellationError())
    }
}
