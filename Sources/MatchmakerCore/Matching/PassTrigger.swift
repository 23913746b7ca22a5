import Foundation
import Logging
import ServiceLifecycle
import Shared
import Synchronization

/// Runs a pass shortly after someone becomes matchable (contract §6, "Triggers"): `signal()` on an enqueue
/// or a lobby status `waiting`, then the debounce (`MATCH_DEBOUNCE`), then one pass through the shared
/// `PassRunner`. Signals that arrive during the debounce are served by that pass; signals during the pass
/// make one more pass after it, however many there were.
///
/// It also keeps an alarm: the earliest `PassReport.botFillDueAt` of any pass. When the alarm rings, a pass
/// runs at once (no debounce), so a lone human meets a bot at `BOT_FILL_AFTER`, not at the next interval.
public final class PassTrigger: Service, Sendable {
    private struct State {
        /// A signal arrived that no pass has served yet.
        var pending = false
        /// The earliest bot-fill moment not yet served.
        var alarm: Date?
        /// The run loop, parked until a signal or an earlier alarm.
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let runner: PassRunner
    private let debounce: Duration
    private let time: Timekeeper
    private let logger: Logger
    private let state = Mutex(State())

    /// Creates a trigger for `runner` and watches its passes' reports for bot-fill moments.
    public init(runner: PassRunner, debounce: Duration, time: Timekeeper = .system, logger: Logger) {
        self.runner = runner
        self.debounce = debounce
        self.time = time
        self.logger = logger
        runner.observe { [weak self] report in
            if let due = report.botFillDueAt { self?.wake(at: due) }
        }
    }

    /// Someone may have become matchable: a pass follows within the debounce. Cheap; callable from anywhere.
    public func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.pending = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Runs a pass at `date` (or earlier, if something else calls for one), unless an earlier alarm is set.
    public func wake(at date: Date) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard state.alarm.map({ date < $0 }) ?? true else { return nil }
            state.alarm = date
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    public func run() async throws {
        logger.info("Pass trigger started", metadata: ["match.debounce": "\(debounce)"])
        do {
            try await cancelWhenGracefulShutdown { [self] in
                while true {
                    try Task.checkCancellation()
                    switch try await nextWork() {
                    case .none: continue
                    case .signal: try await time.sleep(debounce)
                    case .alarm: break
                    }
                    state.withLock { $0.pending = false }
                    await runPass()
                }
            }
        } catch is CancellationError {
            // Shutting down.
        }
        logger.info("Pass trigger stopped")
    }

    private enum Work { case none, signal, alarm }

    /// Waits for a signal or the alarm; `.none` when woken to look again (an earlier alarm was set).
    private func nextWork() async throws -> Work {
        if let work = takeWork() { return work }
        let alarm = state.withLock { $0.alarm }
        if let alarm {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await self.parked(seen: alarm) }
                group.addTask { try await self.time.sleep(until: alarm) }
                defer { group.cancelAll() }
                try await group.next()
            }
        } else {
            await parked(seen: nil)
        }
        try Task.checkCancellation()
        return takeWork() ?? Work.none
    }

    /// What is due now: a pending signal first (it gets the debounce), then a rung alarm.
    private func takeWork() -> Work? {
        let now = time.now()
        return state.withLock { state in
            if let alarm = state.alarm, alarm <= now {
                state.alarm = nil
                return .alarm
            }
            return state.pending ? .signal : nil
        }
    }

    /// Parks until `signal()`, `wake(at:)` or cancellation; at once if the alarm is no longer the `seen` one
    /// (an alarm set between the look and the parking is never slept through).
    private func parked(seen: Date?) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.pending || state.alarm != seen || Task.isCancelled { return true }
                    state.waiter = waiter
                    return false
                }
                if resumeNow { waiter.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }

    private func runPass() async {
        do {
            _ = try await runner.run()
        } catch is CancellationError {
            // Shutting down: the loop ends on its own.
        } catch let busy as PassRunnerBusy {
            // Enough callers wait for the next pass already; it serves this signal too.
            logger.debug("Triggered pass joined no queue", metadata: ["error": "\(busy)"])
        } catch {
            logger.warning("Triggered pass failed", metadata: ["error": "\(error)"])
        }
    }
}
