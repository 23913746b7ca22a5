/// The pauses that make a bot look human (`docs/bots.md`), as ranges drawn uniformly.
public struct BotTimings: Sendable, Hashable {
    /// After joining its channel, before it first becomes available.
    public var beforeQueue: ClosedRange<Double> = 1...3
    /// After joining a room, before the greeting.
    public var greeting: ClosedRange<Double> = 1...3
    /// After a partner's message, before `typing`.
    public var thinking: ClosedRange<Double> = 0.8...1.5
    /// The longest typing pause (the reply length over the typing speed, capped).
    public var maxTyping: Double = 3
    /// After leaving a room, before it becomes available again.
    public var requeue: ClosedRange<Double> = 1...2

    /// The original's pauses, in seconds.
    public init() {}

    /// Every pause multiplied by `factor` (tests run the same logic a hundred times faster).
    public func scaled(by factor: Double) -> BotTimings {
        var timings = self
        timings.beforeQueue = beforeQueue.lowerBound * factor...beforeQueue.upperBound * factor
        timings.greeting = greeting.lowerBound * factor...greeting.upperBound * factor
        timings.thinking = thinking.lowerBound * factor...thinking.upperBound * factor
        timings.maxTyping = maxTyping * factor
        timings.requeue = requeue.lowerBound * factor...requeue.upperBound * factor
        return timings
    }
}

/// Where a bot is in its life.
public enum BotPhase: String, Sendable, Hashable, Codable {
    /// Writing its user row and joining its channels.
    case starting
    /// Started, or between conversations: not yet available.
    case idle
    /// Idle in the bot registry: the matchmaker may claim it.
    case waiting
    /// Matched; joining the room.
    case joiningRoom = "joining_room"
    /// In a conversation.
    case inRoom = "in_room"
    /// Stopped for good.
    case stopped
}
