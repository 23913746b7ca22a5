/// How many bots to run (contract §8): `clamp(ceil(onlineHumans × percentage / 100), min, max)`, `min` with no human.
///
/// Online humans are the lobby's presence keys that are not bots. Without presence the count stays as it is
/// (raised to `min`, so that a service started while presence is down still runs its floor).
public struct BotTarget: Sendable, Hashable {
    /// The floor (`BOT_MIN_COUNT`).
    public var min: Int
    /// The ceiling (`BOT_MAX_COUNT`).
    public var max: Int
    /// Bots per hundred online humans (`BOT_TARGET_PERCENTAGE`).
    public var percentage: Int

    /// What the target is, and why.
    public enum Decision: Sendable, Hashable {
        /// Run `count` bots for `humans` online humans.
        case count(Int, humans: Int)
        /// Presence is unavailable: keep the current count (at least `min`).
        case keep(Int, reason: String)

        /// The number of bots to run.
        public var count: Int {
            switch self {
            case .count(let count, _), .keep(let count, _): count
            }
        }
    }

    /// Creates a target; the defaults are the contract's (3, 15, 30 %).
    public init(min: Int = 3, max: Int = 15, percentage: Int = 30) {
        self.min = min
        self.max = Swift.max(min, max)
        self.percentage = percentage
    }

    /// The target for `humans` online humans.
    public func count(onlineHumans humans: Int) -> Int {
        guard humans > 0 else { return min }
        let wanted = (humans * percentage + 99) / 100
        return Swift.min(Swift.max(wanted, min), max)
    }

    /// The target from a lobby snapshot; `botIDs` are bots known besides those whose metas say so.
    public func decide(presence: PresenceSnapshot, botIDs: Set<String>, current: Int) -> Decision {
        switch presence {
        case .unavailable(let reason):
            return .keep(Swift.max(current, min), reason: reason)
        case .available(let state):
            let humans = state.filter { !PresenceSnapshot.isBot($0.value) && !botIDs.contains($0.key) }.count
            return .count(count(onlineHumans: humans), humans: humans)
        }
    }
}
