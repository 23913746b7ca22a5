import Foundation
import Shared
import Synchronization

/// Running totals of passes for `/stats`.
public final class StatsBook: Sendable {
    /// The JSON `/stats` serves.
    public struct Snapshot: Sendable, Codable, Hashable {
        /// Passes that ran to completion.
        public var passes = 0
        /// Passes that could not read the queue.
        public var failedPasses = 0
        /// Passes that ran without presence.
        public var degradedPasses = 0
        /// Rooms created in total.
        public var rooms = 0
        /// Bot fills in total.
        public var botFills = 0
        /// Pairs undone in total.
        public var undone = 0
        /// Users expired in total.
        public var expired = 0
        /// Stale users dropped in total.
        public var stale = 0
        /// Malformed messages archived in total.
        public var malformed = 0
        /// The last completed pass.
        public var lastReport: PassReport?
        /// The last pass failure, without upstream detail.
        public var lastError: String?
        /// When the last pass ended.
        public var lastPassAt: String?
    }

    /// The totals, and when the last pass ended (formatted only when a snapshot is read, not per pass).
    private let state = Mutex((totals: Snapshot(), lastPassAt: Date?.none))

    /// Creates an empty book.
    public init() {}

    /// The current totals.
    public var snapshot: Snapshot {
        let (totals, lastPassAt) = state.withLock { ($0.totals, $0.lastPassAt) }
        var snapshot = totals
        snapshot.lastPassAt = lastPassAt.map(Timestamp.format)
        return snapshot
    }

    func record(_ report: PassReport) {
        let now = Date()
        state.withLock { state in
            state.lastPassAt = now
            state.totals.record(report)
        }
    }

    func recordFailure(_ error: any Error) {
        let now = Date()
        state.withLock { state in
            state.lastPassAt = now
            state.totals.failedPasses += 1
            state.totals.lastError = (error as? PassError)?.message ?? "pass failed"
        }
    }
}

extension StatsBook.Snapshot {
    /// Adds a completed pass to the totals.
    fileprivate mutating func record(_ report: PassReport) {
        passes += 1
        if report.degraded { degradedPasses += 1 }
        rooms += report.pairedRooms
        botFills += report.botFills
        undone += report.undone
        expired += report.expired
        stale += report.stale
        malformed += report.malformed
        lastReport = report
    }
}
