import Foundation

/// p50/p95/p99/max of a set of durations in seconds (nearest rank).
public struct Percentiles: Sendable, Codable, Hashable {
    /// How many samples.
    public var count: Int
    /// Median, seconds.
    public var p50: Double?
    /// 95th percentile, seconds.
    public var p95: Double?
    /// 99th percentile, seconds.
    public var p99: Double?
    /// The largest, seconds.
    public var max: Double?

    /// The percentiles of `samples`.
    public init(_ samples: [Double]) {
        let sorted = samples.sorted()
        count = sorted.count
        func rank(_ q: Double) -> Double? {
            sorted.isEmpty ? nil : sorted[Swift.max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1)]
        }
        p50 = rank(0.5)
        p95 = rank(0.95)
        p99 = rank(0.99)
        max = sorted.last
    }

    /// `p50 … / p95 … / p99 … / max …` in milliseconds.
    public var text: String {
        guard let p50, let p95, let p99, let max else { return "no samples" }
        return String(
            format: "p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms (n=%d)", p50 * 1000, p95 * 1000, p99 * 1000, max * 1000, count)
    }
}

/// What a run observed; `passes` is filled from the matchmaker's `/stats`.
public struct SimulationReport: Sendable, Codable, Hashable {
    /// Users who arrived.
    public var arrived: Int
    /// Enqueues made (arrivals, plus re-enqueues after skips).
    public var enqueued: Int
    /// Users waiting now.
    public var waiting: Int
    /// Notices that ended a wait (`stranger_matched`, `stranger_no_matches`).
    public var told: Int
    /// `stranger_no_matches` notices.
    public var noMatches: Int
    /// Users who left before a match reached them.
    public var leavers: Int
    /// Users (not leavers) never told anything by the end of the drain: must be 0.
    public var untold: Int
    /// A user told of a second room without a skip in between: must be 0.
    public var doubleMatches: Int
    /// The same room announced twice to a user (at-least-once delivery; harmless).
    public var repeatedNotices: Int
    /// Human-human time to match, from the moment both were enqueued to the later notice.
    public var humanPairs: Percentiles
    /// Bot fills, from the human's enqueue to its notice.
    public var botFills: Percentiles
    /// Rooms announced to the simulated users.
    public var rooms: Int
    /// Rooms of which only one simulated user was told (the other left or closed its tab).
    public var oneSidedRooms: Int
    /// Rooms with a partner that is neither a bot nor a user of this run.
    public var otherPartners: Int
    /// Skips done, and those whose writes failed.
    public var skips: Int
    /// Skips whose writes failed.
    public var skipErrors: Int
    /// Things users could not do, by kind.
    public var failures: [String: Int]
    /// Passes the matchmaker ran during the run (from `/stats`), when it could be read.
    public var passes: Int?

    /// Whether the run kept the promises: no double match, nobody left untold.
    public var isClean: Bool { doubleMatches == 0 && untold == 0 }

    /// The report as lines for people.
    public var lines: [String] {
        var lines = [
            "arrived \(arrived), enqueued \(enqueued), told \(told) (no match \(noMatches)), leavers \(leavers)",
            "human pairs: \(humanPairs.text)",
            "bot fills: \(botFills.text)",
            "rooms \(rooms) (one-sided \(oneSidedRooms), other partners \(otherPartners)), skips \(skips) (failed \(skipErrors))",
            "double matches \(doubleMatches), untold \(untold), repeated notices \(repeatedNotices), passes \(passes.map(String.init) ?? "unknown")",
        ]
        if !failures.isEmpty {
            lines.append("failures: " + failures.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        return lines
    }
}
