import Foundation

/// Supabase's per-channel presence limit: at most `limit` track/untrack calls in any `window` (5 per 30 s).
///
/// Going over makes the server close the channel, so the client spends the budget itself and waits instead.
public struct PresenceBudget: Sendable, Hashable {
    /// Calls allowed per window.
    public var limit: Int
    /// The sliding window.
    public var window: Duration
    private var calls: [Date] = []

    /// Creates a budget; the defaults are Supabase's (5 calls per 30 s).
    public init(limit: Int = 5, window: Duration = .seconds(30)) {
        self.limit = limit
        self.window = window
    }

    /// The earliest instant at or after `now` when a call fits the budget.
    public func nextAllowed(now: Date) -> Date {
        let recent = calls.filter { now.timeIntervalSince($0) < window.seconds }
        guard recent.count >= limit else { return now }
        return recent[recent.count - limit].addingTimeInterval(window.seconds)
    }

    /// Spends one call at `now` if it fits; returns whether it did.
    public mutating func spend(now: Date) -> Bool {
        calls.removeAll { now.timeIntervalSince($0) >= window.seconds }
        guard calls.count < limit else { return false }
        calls.append(now)
        return true
    }
}
