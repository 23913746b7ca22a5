import Foundation

/// A token bucket for channel joins, so that a burst of joins never exceeds Supabase's joins/s (default 100).
///
/// A value: `reserve(now:)` books the next free slot and says how long the caller must wait for it.
public struct JoinRateLimiter: Sendable, Hashable {
    /// Joins allowed per second.
    public var perSecond: Int
    private var nextSlot: Date?

    /// Creates a limiter allowing `perSecond` joins per second, evenly spaced.
    public init(perSecond: Int = 100) {
        precondition(perSecond > 0, "the join rate must be positive")
        self.perSecond = perSecond
    }

    /// The spacing between two joins.
    public var interval: Duration { .seconds(double: 1 / Double(perSecond)) }

    /// Books the next slot and returns the instant it starts (`now` when the bucket is idle).
    public mutating func reserve(now: Date) -> Date {
        let slot = max(now, nextSlot ?? now)
        nextSlot = slot.addingTimeInterval(interval.seconds)
        return slot
    }
}
