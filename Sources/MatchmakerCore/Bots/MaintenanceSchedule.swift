import Foundation
import Shared

/// When the manager's maintenance ticks run: every `interval`, never two at once.
///
/// A tick that runs past the next due instant makes the schedule skip the ticks it overlapped; the next one
/// starts on the first instant of the grid after it finished.
public struct MaintenanceSchedule: Sendable, Hashable {
    /// Time between ticks (`MAINTENANCE_INTERVAL_MS`).
    public var interval: Duration
    /// When the next tick is due.
    public private(set) var nextTick: Date
    /// When the tick in progress started, if one is.
    public private(set) var runningSince: Date?
    /// Ticks skipped because the previous one was still running.
    public private(set) var skipped = 0

    /// A schedule whose first tick is due at `start`.
    public init(interval: Duration, start: Date) {
        self.interval = interval
        self.nextTick = start
    }

    /// Starts a tick at `now` if one is due and none is running; returns whether it did.
    public mutating func begin(now: Date) -> Bool {
        guard runningSince == nil, now >= nextTick else { return false }
        runningSince = now
        return true
    }

    /// The tick in progress finished at `now`; the next is due one interval after this one's grid instant,
    /// or later when this one overran.
    public mutating func end(now: Date) {
        let step = interval.seconds
        var next = nextTick.addingTimeInterval(step)
        while next <= now {
            next = next.addingTimeInterval(step)
            skipped += 1
        }
        nextTick = next
        runningSince = nil
    }
}

/// The pause after each bot start: uniform in `min...max` (5–8 s by default).
public struct Stagger: Sendable, Hashable {
    /// The shortest pause (`BOT_STAGGER_MIN_MS`).
    public var min: Duration
    /// The longest pause (`BOT_STAGGER_MAX_MS`).
    public var max: Duration

    /// Creates a stagger; the defaults are the contract's 5–8 s.
    public init(min: Duration = .seconds(5), max: Duration = .seconds(8)) {
        self.min = min
        self.max = Swift.max(min, max)
    }

    /// The pause for a uniform `unit` in `0..<1`.
    public func delay(unit: Double) -> Duration {
        .seconds(double: min.seconds + (max.seconds - min.seconds) * Swift.min(Swift.max(unit, 0), 1))
    }
}
