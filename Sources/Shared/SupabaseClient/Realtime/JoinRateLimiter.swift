import Foundation

/// Paces channel joins so that the server never counts more than `perSecond` of them in any second
/// (Supabase's joins/s, default 100).
///
/// A value: `reserve(now:)` books the next free slot and says when it starts. Two rules decide the slot:
/// - **spacing**: slots are at least `1/perSecond` apart, so joins never leave in a burst;
/// - **window**: the (N+1)-th slot is at least `window` (1 s + `margin`) after the slot N before it, so no
///   interval of that length holds more than N slots.
///
/// Why the window and not spacing alone: the server timestamps a join when it handles the frame, and
/// scheduling jitter can bunch evenly spaced frames. Take any N+1 joins; the first and last booked differ by
/// N places, so their slots are at least 1 s + `margin` apart. If the delay from slot to server (wake-up,
/// write, network, the server's scheduling) varies by less than `margin`, they arrive more than 1 s apart,
/// so no 1-second window at the server holds N+1 joins. Bursts of up to N joins only pay the spacing;
/// longer ones run at N per (1 s + `margin`).
public struct JoinRateLimiter: Sendable, Hashable {
    /// Joins allowed per second.
    public let perSecond: Int
    /// The jitter the window absorbs: slack added to the 1-second window.
    public let margin: Duration
    /// The last `perSecond` slots, oldest first.
    private var recent: [Date] = []

    /// Creates a limiter allowing `perSecond` joins in any window of 1 s + `margin`.
    public init(perSecond: Int = 100, margin: Duration = .milliseconds(100)) {
        precondition(perSecond > 0, "the join rate must be positive")
        precondition(margin >= .zero, "the margin cannot be negative")
        self.perSecond = perSecond
        self.margin = margin
    }

    /// The spacing between two joins.
    public var interval: Duration { .seconds(double: 1 / Double(perSecond)) }

    /// The window that holds at most `perSecond` slots: 1 s + `margin`.
    public var window: Duration { .seconds(1) + margin }

    /// Books the next slot and returns the instant it starts (`now` when the limiter is idle).
    public mutating func reserve(now: Date) -> Date {
        var slot = now
        if let last = recent.last { slot = max(slot, last.addingTimeInterval(interval.seconds)) }
        if recent.count == perSecond {
            slot = max(slot, recent.removeFirst().addingTimeInterval(window.seconds))
        }
        recent.append(slot)
        return slot
    }
}

/// The joins that really left: the check a join makes once its slot has come.
///
/// `JoinRateLimiter` books slots; a task woken late (a busy machine) can leave well after its slot,
/// together with the tasks booked after it. This keeps the instants joins actually left and lets a join
/// go only if the `perSecond` joins before it left at least `window` earlier, so the guarantee holds for
/// real departures, whatever the wake-up delays.
public struct SentJoins: Sendable {
    /// Joins allowed in any window.
    public let perSecond: Int
    /// The window (1 s + the margin).
    public let window: Duration
    /// The last `perSecond` departures, oldest first.
    private var recent: [Date] = []
    /// The most departures seen in any one second so far.
    public private(set) var busiestSecond = 0

    /// Creates an empty record.
    public init(perSecond: Int, window: Duration) {
        self.perSecond = perSecond
        self.window = window
    }

    /// Records a departure at `now` and returns nil; or, when that would put `perSecond` + 1 joins in one
    /// window, records nothing and returns when the join may go.
    public mutating func depart(at now: Date) -> Date? {
        if recent.count == perSecond {
            let free = recent[0].addingTimeInterval(window.seconds)
            if free > now { return free }
            recent.removeFirst()
        }
        recent.append(now)
        busiestSecond = max(busiestSecond, recent.count { now.timeIntervalSince($0) < 1 })
        return nil
    }
}
