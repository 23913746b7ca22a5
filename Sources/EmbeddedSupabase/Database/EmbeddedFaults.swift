import Shared
import Synchronization

/// Failures to inject into the embedded backend, so that fixtures and tests can replay outages.
///
/// A script is a list of outcomes, one per call; its last outcome repeats. An empty book injects nothing.
public final class EmbeddedFaults: Sendable {
    /// Where a failure can be injected.
    public enum Point: Hashable, Sendable {
        /// Queue reads (`pgmq.read`).
        case read
        /// Queue deletes.
        case delete
        /// The skip ledger query.
        case skips
        /// The bot lookup.
        case bots
        /// Writing a room that includes this user.
        case createRoom(user: String)
        /// Notifying this user.
        case notify(user: String)
    }

    /// The outcome of one call.
    public enum Outcome: String, Sendable, Hashable, Codable {
        /// The call succeeds.
        case ok
        /// A transient failure (HTTP 500): retried.
        case error
        /// A rate limit (HTTP 429): retried with backoff.
        case rateLimited = "rate_limited"
        /// The attempt times out: retried.
        case timeout
        /// An authorization failure (HTTP 401): never retried.
        case unauthorized
    }

    private let scripts = Mutex<[Point: [Outcome]]>([:])

    /// Creates an empty book.
    public init() {}

    /// Scripts the outcomes of the next calls at `point`.
    public func script(_ point: Point, _ outcomes: [Outcome]) {
        scripts.withLock { $0[point] = outcomes }
    }

    /// Consumes the next outcome at `point` and throws it if it is a failure.
    public func check(_ point: Point) throws {
        let outcome: Outcome = scripts.withLock { scripts in
            guard var script = scripts[point], let first = script.first else { return .ok }
            if script.count > 1 { script.removeFirst() }
            scripts[point] = script
            return first
        }
        if outcome != .ok { throw InjectedFault(outcome: outcome) }
    }
}

/// An injected failure; classified like the upstream failure it stands for.
public struct InjectedFault: ClassifiedError, Sendable, Hashable, CustomStringConvertible {
    /// What was injected.
    public var outcome: EmbeddedFaults.Outcome

    /// The HTTP status the failure stands for.
    public var status: Int {
        switch outcome {
        case .ok: 200
        case .error: 500
        case .rateLimited: 429
        case .timeout: 504
        case .unauthorized: 401
        }
    }

    public var failureClass: FailureClass {
        switch outcome {
        case .unauthorized: .fatal(pattern: "HTTP 401")
        case .rateLimited: .rateLimited(pattern: "HTTP 429")
        default: .retryable
        }
    }

    public var description: String { "injected \(outcome.rawValue) (HTTP \(status))" }
}
