import Foundation
import Logging
import Metrics
import Shared
import Synchronization

/// A pass recorded against a Supabase project (or the embedded one): every HTTP exchange in order,
/// the lobby as it was read, the clock and the seed. Replay serves the exchanges back, checks that
/// the pass makes the same requests in the same order, and compares the function's response.
public struct UpstreamFixture: Codable, Sendable {
    /// A short name.
    public var name: String
    /// What the recording shows.
    public var description: String
    /// The pass's instant (held still for the whole pass).
    public var now: String
    /// Seeds room ids and retry jitter.
    public var seed: UInt64
    /// The pass settings in force.
    public var config: Config
    /// The lobby as the pass read it.
    public var presence: Fixture.Presence
    /// Every HTTP exchange, in order.
    public var exchanges: [Exchange]
    /// What the function answered.
    public var expected: Outcome?

    /// Creates a fixture.
    public init(
        name: String, description: String, now: String, seed: UInt64, config: Config, presence: PresenceSnapshot, exchanges: [Exchange],
        expected: Outcome?
    ) {
        self.name = name
        self.description = description
        self.now = now
        self.seed = seed
        self.config = config
        self.presence = Fixture.Presence(presence)
        self.exchanges = exchanges
        self.expected = expected
    }

    /// The settings that shape a pass's requests.
    public struct Config: Codable, Sendable, Hashable {
        public var queueName: String
        public var leaseSeconds: Int
        public var batchSize: Int
        public var policy: MatchPolicy
        public var notifyMaxRetries: Int
        public var notifyPrivate: Bool

        /// The settings of `pass`.
        public init(_ pass: MatchPass.Settings, queueName: String, notifyPrivate: Bool = false) {
            self.queueName = queueName
            leaseSeconds = pass.leaseSeconds
            batchSize = pass.batchSize
            policy = pass.policy
            notifyMaxRetries = pass.notifyBackoff.maxRetries
            self.notifyPrivate = notifyPrivate
        }

        /// Pass settings for a replay: one pair at a time, no timers.
        var replaySettings: MatchPass.Settings {
            var settings = MatchPass.Settings()
            settings.leaseSeconds = leaseSeconds
            settings.batchSize = batchSize
            settings.policy = policy
            settings.notifyBackoff.maxRetries = notifyMaxRetries
            settings.commitConcurrency = 1
            settings.attemptTimeout = nil
            return settings
        }
    }

    /// The function's answer.
    public struct Outcome: Codable, Sendable, Hashable {
        public var status: Int
        public var response: JSONValue

        /// Creates an outcome.
        public init(status: Int, response: JSONValue) {
            self.status = status
            self.response = response
        }
    }

    /// Loads a fixture file.
    public static func load(_ url: URL) throws -> UpstreamFixture {
        try JSONCoding.decoder.decode(UpstreamFixture.self, from: Data(contentsOf: url))
    }

    /// True when the file at `url` is an upstream recording rather than an embedded-world fixture.
    public static func isUpstream(_ url: URL) -> Bool {
        (try? JSONValue(parsing: Data(contentsOf: url)))?["exchanges"] != nil
    }

    /// Replays the recording and lists every difference (empty when it matches).
    public func check(logger: Logger) async throws -> [String] {
        guard let start = Timestamp.parse(now) else { throw FixtureError(message: "bad `now`: \(now)") }
        let transport = ReplayTransport(exchanges: exchanges)
        let backend = SupabaseBackend(transport: transport, queueName: config.queueName, notifyPrivate: config.notifyPrivate)
        let recorded = RecordedPass(seed: seed)
        let pass = MatchPass(
            ports: backend.ports(presence: EmbeddedPresence(try presence.snapshot())), settings: config.replaySettings,
            time: Timekeeper(now: { start }, sleep: { _ in }), roomIDs: RoomIDSource(seed: seed),
            metrics: MatchMetrics(factory: NOOPMetricsHandler.instance), logger: logger, unit: recorded.unit
        )
        let actual: Outcome
        do {
            actual = Outcome(status: 200, response: try await pass.run().responseBody)
        } catch let error as PassError {
            actual = Outcome(status: 500, response: PassReport.failureBody(message: error.message))
        }
        guard let expected else { return ["fixture has no `expected` outcome"] + transport.differences }
        return transport.differences
            + JSONDiff.differences(expected: try JSONValue(encoding: expected), actual: try JSONValue(encoding: actual), path: "expected")
    }
}

/// What a recorded pass needs besides its exchanges: the seed's random numbers and the lobby it saw.
public final class RecordedPass: Sendable {
    private let random: Mutex<SplitMix64>
    private let seen = Mutex<PresenceSnapshot?>(nil)
    private let start = Mutex(0)

    /// The index of the pass's first exchange in a recording that began before the pass.
    public var firstExchange: Int {
        get { start.withLock { $0 } }
        set { start.withLock { $0 = newValue } }
    }

    /// Starts a recording with `seed`.
    public init(seed: UInt64) { random = Mutex(SplitMix64(seed: seed)) }

    /// Uniform numbers in `0..<1` from the seed, for retry jitter.
    public var unit: @Sendable () -> Double {
        { [self] in self.random.withLock { Double($0.next() >> 11) / Double(1 << 53) } }
    }

    /// The lobby the pass read, if it read one.
    public var presence: PresenceSnapshot? { seen.withLock { $0 } }

    fileprivate func saw(_ snapshot: PresenceSnapshot) { seen.withLock { $0 = snapshot } }
}

/// A presence source that remembers what it returned, for recordings.
public struct RecordingPresence: PresenceSource {
    let inner: any PresenceSource
    let record: RecordedPass

    /// Records what `inner` returns into `record`.
    public init(inner: any PresenceSource, record: RecordedPass) {
        self.inner = inner
        self.record = record
    }

    public func snapshot() async -> PresenceSnapshot {
        let snapshot = await inner.snapshot()
        record.saw(snapshot)
        return snapshot
    }
}

extension Fixture.Presence {
    /// The fixture form of a snapshot.
    init(_ snapshot: PresenceSnapshot) {
        switch snapshot {
        case .available(let state): self.init(state: state, unavailable: nil)
        case .unavailable(let reason): self.init(state: nil, unavailable: reason)
        }
    }

    /// The snapshot this describes.
    public func snapshot() throws -> PresenceSnapshot {
        switch (state, unavailable) {
        case (let state?, nil): return .available(state)
        case (nil, let reason?): return .unavailable(reason: reason)
        default: throw FixtureError(message: "presence needs exactly one of `state` or `unavailable`")
        }
    }
}
