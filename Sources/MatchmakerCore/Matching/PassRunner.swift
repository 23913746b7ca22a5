import Foundation
import Shared
import Synchronization

/// Runs this process's passes, one at a time, and shares them among callers (contract §6, "Shared passes").
///
/// A caller that arrives while no pass runs starts one at once. Callers that arrive while a pass runs all
/// wait for the *next* pass, which starts when the running one ends (so after each of them arrived, and it
/// sees everything enqueued before their calls), and all get that one pass's report, or its error. One of
/// them runs it in its own task; the others are resumed with its outcome. At most `maxWaiting` callers wait;
/// one more is refused with `PassRunnerBusy`.
///
/// This only keeps one process tidy; separate processes are kept apart by leases, never by this lock. The
/// runner is a class behind one `Mutex`, not an actor: a call that finds it idle costs two short critical
/// sections and no hop.
public final class PassRunner: Sendable {
    private typealias Waiter = CheckedContinuation<Turn, any Error>

    /// What a parked caller is resumed with.
    private enum Turn: Sendable {
        /// Run the next pass and hand its outcome to `followers`.
        case lead(followers: [Waiter])
        /// The shared pass's report.
        case report(PassReport)
    }

    private struct State {
        var running = false
        /// Callers waiting for the pass after the running one.
        var next: [Waiter] = []
        /// Callers parked, for the next pass or as followers of the running one.
        var parked = 0
    }

    private let pass: MatchPass
    private let maxWaiting: Int
    /// Totals and the last outcome, for `/stats`.
    public let stats: StatsBook
    private let metrics: RunnerMetrics
    private let state = Mutex(State())
    private let observers = Mutex<[@Sendable (PassReport) -> Void]>([])

    /// Creates a runner for `pass`.
    /// - Parameters:
    ///   - maxWaiting: callers that may wait behind a running pass (`MATCH_MAX_WAITING_CALLERS`); one more is refused.
    ///   - metrics: the shared-caller and refusal counters.
    public init(pass: MatchPass, stats: StatsBook = StatsBook(), maxWaiting: Int = 256, metrics: RunnerMetrics = RunnerMetrics()) {
        self.pass = pass
        self.stats = stats
        self.maxWaiting = max(0, maxWaiting)
        self.metrics = metrics
    }

    /// Callers parked behind a running pass.
    public var waiting: Int { state.withLock { $0.parked } }

    /// Calls `observer` with the report of every pass that completes (from any caller), after the callers' turn
    /// has been handed on. The pass trigger uses it to wake at the next bot-fill moment.
    public func observe(_ observer: @escaping @Sendable (PassReport) -> Void) {
        observers.withLock { $0.append(observer) }
    }

    /// Runs a pass now, or, while one runs, waits for the next one and returns its report.
    /// - Throws: `PassRunnerBusy` when `maxWaiting` callers already wait; the pass's own error otherwise.
    public func run() async throws -> PassReport {
        let leads = state.withLock { state in
            guard !state.running else { return false }
            state.running = true
            return true
        }
        if leads { return try await lead(followers: []) }
        let turn = try await withCheckedThrowingContinuation { (waiter: Waiter) in
            enum Entry { case lead, parked, refused }
            let entry = state.withLock { state -> Entry in
                if !state.running {
                    // The pass ended between the two looks: this caller starts the next one.
                    state.running = true
                    return .lead
                }
                guard state.parked < maxWaiting else { return .refused }
                state.parked += 1
                state.next.append(waiter)
                return .parked
            }
            switch entry {
            case .lead: waiter.resume(returning: .lead(followers: []))
            case .parked: break
            case .refused:
                metrics.refusedCaller()
                waiter.resume(throwing: PassRunnerBusy(waiting: maxWaiting))
            }
        }
        switch turn {
        case .lead(let followers): return try await lead(followers: followers)
        case .report(let report):
            metrics.sharedCaller()
            return report
        }
    }

    /// Runs one pass, hands the turn to whoever waits for the next, and gives `followers` the outcome.
    private func lead(followers: [Waiter]) async throws -> PassReport {
        let outcome: Result<PassReport, any Error>
        do {
            let report = try await pass.run()
            stats.record(report)
            outcome = .success(report)
        } catch {
            stats.recordFailure(error)
            outcome = .failure(error)
        }
        let next = state.withLock { state -> [Waiter] in
            let next = state.next
            state.next = []
            state.parked -= followers.count
            if next.isEmpty {
                state.running = false
            } else {
                // The first of them runs the next pass: it stops being parked.
                state.parked -= 1
            }
            return next
        }
        if let first = next.first { first.resume(returning: .lead(followers: Array(next.dropFirst()))) }
        for follower in followers { follower.resume(with: outcome.map(Turn.report)) }
        if case .success(let report) = outcome {
            for observer in observers.withLock({ $0 }) { observer(report) }
        }
        return try outcome.get()
    }
}

/// Too many callers already wait for the next pass; the function endpoint answers 503 with `Retry-After`.
public struct PassRunnerBusy: Error, Sendable, CustomStringConvertible {
    /// The cap that was reached (`MATCH_MAX_WAITING_CALLERS`).
    public var waiting: Int

    public var description: String { "\(waiting) callers already wait for the next pass" }
}
