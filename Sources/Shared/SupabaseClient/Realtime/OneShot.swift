import Synchronization

/// A value delivered once to whoever awaits it; waiting is cancellable and a late delivery is dropped.
///
/// The state is one `Mutex`, so a cancellation handler can fail the waiter synchronously, without a task.
final class OneShot<Value: Sendable>: Sendable {
    private enum State {
        case pending
        case waiting(CheckedContinuation<Value, any Error>)
        case done(Result<Value, any Error>)
    }

    private let state = Mutex<State>(.pending)

    /// Creates an empty box.
    init() {}

    /// Whether a value or error was delivered.
    var isDone: Bool {
        state.withLock { if case .done = $0 { true } else { false } }
    }

    /// Delivers the outcome; later deliveries are ignored.
    func resolve(_ result: Result<Value, any Error>) {
        let waiter: CheckedContinuation<Value, any Error>? = state.withLock { state in
            switch state {
            case .pending:
                state = .done(result)
                return nil
            case .waiting(let continuation):
                state = .done(result)
                return continuation
            case .done:
                return nil
            }
        }
        waiter?.resume(with: result)
    }

    /// Waits for the outcome, or throws `CancellationError` when the waiting task is cancelled.
    func wait() async throws -> Value {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let ready: Result<Value, any Error>? = state.withLock { state in
                    switch state {
                    case .pending:
                        state = .waiting(continuation)
                        return nil
                    case .done(let result):
                        return result
                    case .waiting:
                        return .failure(CancellationError())
                    }
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            resolve(.failure(CancellationError()))
        }
    }
}
