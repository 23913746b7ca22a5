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

    private let state = Mutex(Snapshot())

    /// Creates an empty book.
    public init() {}

    /// The current totals.
    public var snapshot: Snapshot { state.withLock { $0 } }

    func record(_ report: PassReport) {
        state.withLock {
            $0.passes += 1
            if report.degraded { $0.degradedPasses += 1 }
            $0.rooms += report.pairedRooms
            $0.botFills += report.botFills
            $0.undone += report.undone
            $0.expired += report.expired
            $0.stale += report.stale
            $0.malformed += report.malformed
            $0.lastReport = report
            $0.lastPassAt = Timestamp.format(Date())
        }
    }

    func recordFailure(_ error: any Error) {
        state.withLock {
            $0.failedPasses += 1
            $0.lastError = (error as? PassError)?.message ?? "pass failed"
            $0.lastPassAt = Timestamp.format(Date())
        }
    }
}
