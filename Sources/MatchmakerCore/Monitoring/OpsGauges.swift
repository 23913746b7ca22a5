import Metrics
import Synchronization

/// The gauges of `OpsStatus`: queue levels, outbox backlog and bots. A gauge is created the first time its
/// part is read, so that a part this process cannot read is absent from `/metrics` rather than a false 0, and
/// it goes again when a later read fails, so that alerts never act on a value that is no longer true.
public final class OpsGauges: Sendable {
    private let factory: any MetricsFactory
    private let gauges = Mutex<[String: Gauge]>([:])

    /// Gauges in `factory` (the process-wide one by default).
    public init(factory: any MetricsFactory = MetricsSystem.factory) { self.factory = factory }

    /// Sets every gauge whose part `status` has.
    public func record(_ status: OpsStatus) {
        if let bots = status.bots { record(bots: bots) }
        if let queue = status.queue {
            set("matchmaker_queue_depth_messages", Double(queue.depth))
            set("matchmaker_queue_oldest_message_age_seconds", queue.oldestAgeSeconds)
        } else {
            remove("matchmaker_queue_depth_messages")
            remove("matchmaker_queue_oldest_message_age_seconds")
        }
        if let backlog = status.outboxBacklog {
            set("matchmaker_outbox_backlog_rows", Double(backlog))
        } else {
            remove("matchmaker_outbox_backlog_rows")
        }
    }

    /// Sets the bot gauges (at every scrape: they cost nothing to read).
    public func record(bots: BotManager.Stats) {
        set("matchmaker_bots_target", Double(bots.target))
        set("matchmaker_bots_running", Double(bots.totalBots))
        set("matchmaker_bots_waiting", Double(bots.waiting))
        set("matchmaker_bots_in_room", Double(bots.inConversation))
    }

    private func set(_ name: String, _ value: Double) {
        let gauge = gauges.withLock { gauges in
            if let gauge = gauges[name] { return gauge }
            let gauge = Gauge(label: name, factory: factory)
            gauges[name] = gauge
            return gauge
        }
        gauge.record(value)
    }

    private func remove(_ name: String) {
        gauges.withLock { $0.removeValue(forKey: name) }?.destroy()
    }
}
