import Foundation

/// The time rules of a pass (contract §3), in seconds.
public struct MatchPolicy: Sendable, Hashable, Codable {
    /// Two users who skipped each other within this window are not paired (`SKIP_WINDOW`, 10 s).
    public var skipWindow: TimeInterval
    /// A queued user who is not waiting in the lobby and whose newest message is this old is dropped (`STALE_AFTER`, 30 s).
    public var staleAfter: TimeInterval
    /// A human who has waited this long may be paired with a waiting bot (`BOT_FILL_AFTER`, 5 s).
    public var botFillAfter: TimeInterval
    /// A user whose newest message is this old and who found no match is told the queue expired (`QUEUE_TTL`, 60 s).
    public var queueTTL: TimeInterval

    /// Creates a policy; every argument defaults to the contract's value.
    public init(skipWindow: TimeInterval = 10, staleAfter: TimeInterval = 30, botFillAfter: TimeInterval = 5, queueTTL: TimeInterval = 60) {
        self.skipWindow = skipWindow
        self.staleAfter = staleAfter
        self.botFillAfter = botFillAfter
        self.queueTTL = queueTTL
    }

    /// `skipWindow` in whole seconds, rounded up: the window a commit re-checks (`skip_window_seconds`).
    public var skipWindowSeconds: Int { Int(skipWindow.rounded(.up)) }
}
