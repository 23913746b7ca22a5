/// Exponential backoff with jitter, as the seed specifies it (contract §7).
///
/// The delay before retry `k` (1-based) is `min(base × 2^(k-1), max)` plus a uniform jitter of up to
/// `jitter` (30 %) of that. It is a value: callers feed it a random number and get a duration back.
public struct Backoff: Sendable, Hashable, Codable {
    /// Retries after the first attempt; the operation runs at most `maxRetries + 1` times.
    public var maxRetries: Int
    /// The delay before the first retry, before jitter.
    public var baseDelay: Duration
    /// The cap on the delay, before jitter.
    public var maxDelay: Duration
    /// The largest jitter, as a fraction of the delay.
    public var jitter: Double

    /// Creates a backoff.
    public init(maxRetries: Int, baseDelay: Duration, maxDelay: Duration, jitter: Double = 0.3) {
        self.maxRetries = maxRetries
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.jitter = jitter
    }

    /// The seed's channel-creation values: 10 retries, 2 s base, 30 s cap, 30 % jitter.
    public static let channel = Backoff(maxRetries: 10, baseDelay: .milliseconds(2000), maxDelay: .milliseconds(30000))

    /// UserNotification retries: short, so that a pass ends well within its lease.
    public static let notification = Backoff(maxRetries: 3, baseDelay: .milliseconds(250), maxDelay: .seconds(2))

    /// The delay before retry `attempt` (1-based), without jitter.
    public func nominalDelay(attempt: Int) -> Duration {
        precondition(attempt >= 1, "attempts are 1-based")
        let exponent = min(attempt - 1, 40)
        let base = baseDelay.seconds * Double(1 << UInt64(min(exponent, 62)))
        return .seconds(double: min(base, maxDelay.seconds))
    }

    /// The delay before retry `attempt`, with jitter drawn from `unit`, a uniform number in `0..<1`.
    public func delay(attempt: Int, unit: Double) -> Duration {
        let nominal = nominalDelay(attempt: attempt).seconds
        return .seconds(double: nominal + nominal * jitter * min(max(unit, 0), 1))
    }
}
