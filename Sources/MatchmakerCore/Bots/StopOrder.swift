/// Which bots to stop when there are too many: idle ones first, then waiting, then those in a conversation.
public enum StopOrder {
    /// Up to `excess` bot ids from `bots`, idle first; ties keep the newest bots out (highest slot first).
    public static func choose(excess: Int, from bots: [(slot: Int, phase: BotPhase)]) -> [Int] {
        guard excess > 0 else { return [] }
        return
            bots
            .sorted { ($0.phase.stopRank, -$0.slot) < ($1.phase.stopRank, -$1.slot) }
            .prefix(excess)
            .map(\.slot)
    }
}

extension BotPhase {
    /// Lower is stopped first.
    var stopRank: Int {
        switch self {
        case .starting, .idle, .stopped: 0
        case .waiting: 1
        case .joiningRoom, .inRoom: 2
        }
    }
}
