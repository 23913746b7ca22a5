import Foundation

/// An operation did not finish within its time limit.
public struct TimeoutError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The limit that was exceeded.
    public var limit: Duration

    /// Creates a timeout error.
    public init(limit: Duration) { self.limit = limit }

    public var description: String { "timed out after \(limit)" }
}

/// The last failure of a retried operation, with how many attempts were made and why it stopped.
public struct RetryFailure: Error, Sendable, CustomStringConvertible {
    /// Why the runner stopped.
    public enum Reason: Sendable, Hashable {
        /// The error was classified as fatal.
        case nonRetryable
        /// Every attempt failed.
        case exhausted
    }

    /// Attempts made, including the first.
    public var attempts: Int
    /// Why no more attempts were made.
    public var reason: Reason
    /// The last error.
    public var lastError: any Error
    /// Its class.
    public var failureClass: FailureClass

    public var description: String {
        "\(reason == .exhausted ? "gave up" : "not retryable") after \(attempts) attempt(s): \(lastError)"
    }
}

/// Runs an operation with a per-attempt timeout, retrying retryable failures with backoff and jitter.
public struct RetryRunner: Sendable {
    /// The retry schedule.
    public var backoff: Backoff
    /// The limit on one attempt, or `nil` when the operation enforces its own.
    public var attemptTimeout: Duration?
    /// Time and sleeping.
    public var time: Timekeeper
    /// A uniform random number in `0..<1` for the jitter.
    public var unit: @Sendable () -> Double

    /// Creates a runner.
    public init(
        backoff: Backoff, attemptTimeout: Duration?, time: Timekeeper = .system,
        unit: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.backoff = backoff
        self.attemptTimeout = attemptTimeout
        self.time = time
        self.unit = unit
    }

    /// Runs `operation` until it succeeds, fails fatally or runs out of retries.
    ///
    /// - Parameters:
    ///   - classify: decides whether a failure is retried (defaults to `ErrorClassifier`).
    ///   - onFailure: called after each failed attempt with the attempt number, error and its class.
    ///   - operation: the work; receives the 1-based attempt number.
    /// - Throws: `RetryFailure` with the last error, or `CancellationError`.
    public func run<T: Sendable>(
        classify: @Sendable (any Error) -> FailureClass = ErrorClassifier.classify,
        onFailure: @Sendable (Int, any Error, FailureClass) -> Void = { _, _, _ in },
        _ operation: @escaping @Sendable (Int) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            try Task.checkCancellation()
            let current = attempt
            do {
                if let attemptTimeout {
                    return try await withTimeout(attemptTimeout, time: time) { try await operation(current) }
                }
                return try await operation(current)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                let failureClass = classify(error)
                onFailure(attempt, error, failureClass)
                guard failureClass.isRetryable else {
                    throw RetryFailure(attempts: attempt, reason: .nonRetryable, lastError: error, failureClass: failureClass)
                }
                guard attempt <= backoff.maxRetries else {
                    throw RetryFailure(attempts: attempt, reason: .exhausted, lastError: error, failureClass: failureClass)
                }
                try await time.sleep(backoff.delay(attempt: attempt, unit: unit()))
                attempt += 1
            }
        }
    }
}

/// Runs `operation`, throwing `TimeoutError` if it has not finished after `limit` on `time`.
public func withTimeout<T: Sendable>(
    _ limit: Duration, time: Timekeeper, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await time.sleep(limit)
            throw TimeoutError(limit: limit)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Runs `operation`, failing with `TimeoutError` when it is still running at `deadline` on `time`.
///
/// The error's `limit` is the time there was left when the race started.
public func withDeadline<T: Sendable>(
    _ deadline: Date, time: Timekeeper, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let limit = Duration.seconds(double: deadline.timeIntervalSince(time.now()))
    return try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await time.sleep(until: deadline)
            throw TimeoutError(limit: limit)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
