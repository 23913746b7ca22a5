import Foundation
import Shared
import Synchronization

/// Everything the simulated users observed, behind one lock: counters, the time-to-match samples, and the
/// rooms of which one user has been told and the other not yet.
///
/// Memory stays flat on long runs: a room leaves `halfTold` when its second user is told, or after
/// `halfToldLimit` as one-sided (its other user left, or is no simulated user).
public final class Tally: Sendable {
    /// One user's side of a `stranger_matched`.
    struct Side: Sendable {
        var enqueuedAt: ContinuousClock.Instant
        var toldAt: ContinuousClock.Instant
    }

    struct State {
        var arrived = 0
        var enqueued = 0
        var waiting = 0
        var told = 0
        var noMatches = 0
        var leavers = 0
        var untold = 0
        var doubleMatches = 0
        var repeatedNotices = 0
        var humanPairs: [Double] = []
        var botFills: [Double] = []
        var oneSidedRooms = 0
        var otherPartners = 0
        var skips = 0
        var skipErrors = 0
        var failures: [String: Int] = [:]
        var halfTold: [String: Side] = [:]
    }

    private let state = Mutex(State())
    let halfToldLimit: Duration

    /// Creates an empty tally; a room half told for longer than `halfToldLimit` counts as one-sided.
    init(halfToldLimit: Duration = .seconds(120)) {
        self.halfToldLimit = halfToldLimit
    }

    /// A user arrived.
    func arrived() { state.withLock { $0.arrived += 1 } }

    /// A user's message went into the queue (first time or after a skip); it now waits.
    func enqueued() {
        state.withLock {
            $0.enqueued += 1
            $0.waiting += 1
        }
    }

    /// A waiting user stopped waiting (told, left, or gave up at the end).
    func stoppedWaiting() { state.withLock { $0.waiting -= 1 } }

    /// A user left before any match reached them.
    func left() { state.withLock { $0.leavers += 1 } }

    /// A user (not a leaver) heard nothing by the end of the drain.
    func neverTold() { state.withLock { $0.untold += 1 } }

    /// A user heard `stranger_no_matches`.
    func noMatch() {
        state.withLock {
            $0.told += 1
            $0.noMatches += 1
        }
    }

    /// A user was told of a second room while still in the first (no `stranger_skipped` in between).
    func doubleMatch() { state.withLock { $0.doubleMatches += 1 } }

    /// The same room was announced again (delivery is at least once).
    func repeatedNotice() { state.withLock { $0.repeatedNotices += 1 } }

    /// A skip done (or failed: `error`).
    func skipped(error: Bool) {
        state.withLock {
            $0.skips += 1
            if error { $0.skipErrors += 1 }
        }
    }

    /// Something a user could not do (`what`: `user row`, `realtime`, `enqueue`, …).
    func failed(_ what: String) { state.withLock { $0.failures[what, default: 0] += 1 } }

    /// `user` was told of `room` with `partner`. A bot (`bot-` id) makes a bot-fill sample from the user's
    /// enqueue; another simulated user (`isSimulated`) a human-pair sample once both are told, from the
    /// later of their enqueues to the later notice.
    func matched(room: String, partner: String, partnerIsSimulated: Bool, side: Side) {
        state.withLock { state in
            state.told += 1
            if partner.hasPrefix("bot-") {
                state.botFills.append((side.toldAt - side.enqueuedAt).seconds)
            } else if !partnerIsSimulated {
                state.otherPartners += 1
            } else if let other = state.halfTold.removeValue(forKey: room) {
                let bothQueued = max(other.enqueuedAt, side.enqueuedAt)
                state.humanPairs.append((max(other.toldAt, side.toldAt) - bothQueued).seconds)
            } else {
                state.halfTold[room] = side
            }
        }
    }

    /// Moves rooms half told for longer than the limit to `oneSidedRooms`.
    func prune(now: ContinuousClock.Instant) {
        state.withLock { state in
            let expired = state.halfTold.filter { now - $0.value.toldAt > halfToldLimit }.map(\.key)
            for room in expired { state.halfTold[room] = nil }
            state.oneSidedRooms += expired.count
        }
    }

    /// The numbers now; `final` counts every room still half told as one-sided.
    func summary(final: Bool = false) -> SimulationReport {
        state.withLock { state in
            SimulationReport(
                arrived: state.arrived, enqueued: state.enqueued, waiting: state.waiting, told: state.told,
                noMatches: state.noMatches, leavers: state.leavers, untold: state.untold, doubleMatches: state.doubleMatches,
                repeatedNotices: state.repeatedNotices, humanPairs: Percentiles(state.humanPairs),
                botFills: Percentiles(state.botFills),
                rooms: state.humanPairs.count + state.botFills.count + state.oneSidedRooms + state.otherPartners
                    + (final ? state.halfTold.count : 0),
                oneSidedRooms: state.oneSidedRooms + (final ? state.halfTold.count : 0), otherPartners: state.otherPartners,
                skips: state.skips, skipErrors: state.skipErrors, failures: state.failures)
        }
    }
}
