import Foundation
import Metrics
import Synchronization

/// The seed's connection metrics (contract §8), fed by the client's real events and exposed both as
/// swift-metrics instruments and as the JSON of `/stats`.
public final class RealtimeMonitor: Sendable {
    /// The JSON view.
    public struct Snapshot: Sendable, Codable, Hashable {
        /// Connect attempts.
        public var totalConnections = 0
        /// Sockets open now.
        public var activeConnections = 0
        /// Connect attempts or joins that failed.
        public var failedConnections = 0
        /// Reconnects after a socket was lost.
        public var reconnectAttempts = 0
        /// Mean connect + join time over the last 100 successes, in milliseconds.
        public var averageResponseTimeMs: Double = 0
        /// The last error, with its cause.
        public var lastError: String?
        /// When the last error happened.
        public var lastErrorAt: String?
        /// Failures per error pattern (`UNAUTHORIZED`, `ChannelRateLimitReached`, `timed_out`, …).
        public var errorPatterns: [String: Int] = [:]
        /// Per-socket state: `connecting`, `open`, `reconnecting`, `closed`.
        public var connections: [String: String] = [:]

        /// Nothing counted yet.
        public init() {}
    }

    private struct State {
        var snapshot = Snapshot()
        var samples: [Double] = []
        var patternCounters: [String: Counter] = [:]
    }

    private let state = Mutex(State())
    private let factory: any MetricsFactory
    private let connects: Counter
    private let failures: Counter
    private let reconnects: Counter
    private let active: Meter
    private let responseTime: Timer

    /// Creates the instruments in `factory` (the process-wide one by default).
    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        self.factory = factory
        connects = Counter(label: "matchmaker_realtime_connect_attempts_total", factory: factory)
        failures = Counter(label: "matchmaker_realtime_failed_connections_total", factory: factory)
        reconnects = Counter(label: "matchmaker_realtime_reconnect_attempts_total", factory: factory)
        active = Meter(label: "matchmaker_realtime_active_connections", factory: factory)
        responseTime = Timer(label: "matchmaker_realtime_response_seconds", factory: factory)
    }

    /// The current numbers.
    public var snapshot: Snapshot { state.withLock { $0.snapshot } }

    /// A socket starts connecting.
    public func connecting(socket: Int, reconnect: Bool) {
        connects.increment()
        if reconnect { reconnects.increment() }
        state.withLock {
            $0.snapshot.totalConnections += 1
            if reconnect { $0.snapshot.reconnectAttempts += 1 }
            $0.snapshot.connections[String(socket)] = reconnect ? "reconnecting" : "connecting"
        }
    }

    /// A socket opened.
    public func opened(socket: Int) {
        active.increment()
        state.withLock {
            $0.snapshot.activeConnections += 1
            $0.snapshot.connections[String(socket)] = "open"
        }
    }

    /// An open socket closed.
    public func closed(socket: Int, wasOpen: Bool) {
        if wasOpen { active.decrement() }
        state.withLock {
            if wasOpen { $0.snapshot.activeConnections -= 1 }
            $0.snapshot.connections[String(socket)] = "closed"
        }
    }

    /// A socket stopped for good.
    public func removed(socket: Int) {
        _ = state.withLock { $0.snapshot.connections.removeValue(forKey: String(socket)) }
    }

    /// A connect or join succeeded after `duration`.
    public func succeeded(after duration: Duration) {
        responseTime.record(duration: duration)
        state.withLock {
            $0.samples.append(duration.seconds * 1000)
            if $0.samples.count > 100 { $0.samples.removeFirst($0.samples.count - 100) }
            $0.snapshot.averageResponseTimeMs = $0.samples.reduce(0, +) / Double($0.samples.count)
        }
    }

    /// A connect or join failed with `error`.
    public func failed(_ error: any Error, at date: Date) {
        failures.increment()
        let pattern = Self.pattern(of: error)
        let counter: Counter = state.withLock { state in
            state.snapshot.failedConnections += 1
            state.snapshot.lastError = String(describing: error)
            state.snapshot.lastErrorAt = Timestamp.format(date)
            state.snapshot.errorPatterns[pattern, default: 0] += 1
            let label = Self.metricLabel(pattern)
            if let counter = state.patternCounters[label] { return counter }
            let counter = Counter(label: "matchmaker_realtime_errors_total", dimensions: [("pattern", label)], factory: factory)
            state.patternCounters[label] = counter
            return counter
        }
        counter.increment()
    }

    /// The low-cardinality pattern of an error: `HTTP <status>` for a refused handshake, the classifier's
    /// pattern, else the Realtime error kind.
    static func pattern(of error: any Error) -> String {
        if let status = (error as? RealtimeError)?.status { return "HTTP \(status)" }
        if let pattern = ErrorClassifier.classify(error).pattern { return pattern }
        if let realtime = error as? RealtimeError { return realtime.kind.rawValue }
        if error is TimeoutError { return RealtimeError.Kind.timedOut.rawValue }
        return "other"
    }

    /// The patterns `matchmaker_realtime_errors_total{pattern}` names: the classifier's, the refused handshakes
    /// it knows, and every Realtime error kind. Anything else is counted as `other`, so the label stays bounded.
    public static let metricPatterns: Set<String> = Set(
        ErrorClassifier.fatalPatterns + ErrorClassifier.rateLimitPatterns + ["HTTP 401", "HTTP 403", "HTTP 404", "HTTP 429"]
            + RealtimeError.Kind.allCases.map(\.rawValue) + ["other"]
    )

    /// The metric label of `pattern`: itself when it is one of `metricPatterns`, else `other`.
    static func metricLabel(_ pattern: String) -> String {
        metricPatterns.contains(pattern) ? pattern : "other"
    }
}
