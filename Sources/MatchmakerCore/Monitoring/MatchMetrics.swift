import Foundation
import Metrics

/// The matchmaker's instruments, created once (swift-metrics; exported by `PrometheusExporter`).
///
/// Labels are low-cardinality: never a user id.
public struct MatchMetrics: Sendable {
    private let passesOK: Counter
    private let passesFailed: Counter
    private let passesDegraded: Counter
    private let pairsHumans: Counter
    private let pairsBotFill: Counter
    private let undone: Counter
    private let drops: [String: Counter]
    private let notifyDelivered: Counter
    private let notifyFailed: Counter
    private let notifyFailedAttempts: Counter
    private let passSeconds: Timer
    private let leased: Gauge
    private let oldestWait: Gauge

    /// Creates the instruments in `factory` (the process-wide one by default).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        passesOK = Counter(label: "matchmaker_passes_total", dimensions: [("outcome", "ok")], factory: factory)
        passesFailed = Counter(label: "matchmaker_passes_total", dimensions: [("outcome", "failed")], factory: factory)
        passesDegraded = Counter(label: "matchmaker_degraded_passes_total", factory: factory)
        pairsHumans = Counter(label: "matchmaker_pairs_total", dimensions: [("kind", "humans")], factory: factory)
        pairsBotFill = Counter(label: "matchmaker_pairs_total", dimensions: [("kind", "bot_fill")], factory: factory)
        undone = Counter(label: "matchmaker_pairs_undone_total", factory: factory)
        drops = Dictionary(
            uniqueKeysWithValues: ["stale", "expired", "malformed", "duplicate"].map {
                ($0, Counter(label: "matchmaker_drops_total", dimensions: [("reason", $0)], factory: factory))
            }
        )
        notifyDelivered = Counter(label: "matchmaker_notifications_total", dimensions: [("outcome", "delivered")], factory: factory)
        notifyFailed = Counter(label: "matchmaker_notifications_total", dimensions: [("outcome", "failed")], factory: factory)
        notifyFailedAttempts = Counter(label: "matchmaker_notification_failed_attempts_total", factory: factory)
        passSeconds = Timer(label: "matchmaker_pass_seconds", factory: factory)
        leased = Gauge(label: "matchmaker_queue_leased_messages", factory: factory)
        oldestWait = Gauge(label: "matchmaker_oldest_wait_seconds", factory: factory)
    }

    /// Records a finished pass; `now` is the pass's own clock (the injected `Timekeeper`), against which
    /// the oldest wait of the users it kept or expired is measured.
    func record(_ report: PassReport, plan: Plan?, now: Date, duration: Duration) {
        passesOK.increment()
        if report.degraded { passesDegraded.increment() }
        // An empty pass (the common case under load) adds nothing to these, so it touches none of them.
        if report.pairedRooms > 0 || report.undone > 0 {
            pairsBotFill.increment(by: report.botFills)
            pairsHumans.increment(by: report.pairedRooms - report.botFills)
            undone.increment(by: report.undone)
        }
        if report.stale > 0 || report.expired > 0 || report.malformed > 0 || report.duplicates > 0 {
            drops["stale"]?.increment(by: report.stale)
            drops["expired"]?.increment(by: report.expired)
            drops["malformed"]?.increment(by: report.malformed)
            drops["duplicate"]?.increment(by: report.duplicates)
        }
        passSeconds.record(duration: duration)
        leased.record(report.totalUsers)
        if let plan {
            let waits = (plan.kept + plan.expired).map(\.firstEnqueuedAt)
            oldestWait.record(waits.min().map { now.timeIntervalSince($0) } ?? 0)
        } else {
            oldestWait.record(0)
        }
    }

    /// Records a pass that could not read the queue.
    func recordFailedPass() { passesFailed.increment() }

    /// Records the outcome of one notification and its failed attempts.
    func recordNotification(event: String, delivered: Bool, failedAttempts: Int) {
        (delivered ? notifyDelivered : notifyFailed).increment()
        notifyFailedAttempts.increment(by: failedAttempts)
    }
}

/// The pass runner's instruments: callers served by a pass another caller ran, and callers refused.
public struct RunnerMetrics: Sendable {
    private let shared: Counter
    private let refused: Counter

    /// Creates the instruments in `factory` (the process-wide one by default).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        shared = Counter(label: "matchmaker_shared_pass_callers_total", factory: factory)
        refused = Counter(label: "matchmaker_busy_refusals_total", factory: factory)
    }

    /// A caller got the report of a pass that another caller (or the trigger, or the schedule) ran.
    func sharedCaller() { shared.increment() }

    /// A caller was refused: too many already waited.
    func refusedCaller() { refused.increment() }
}
