import Foundation
import Logging
import Shared

/// `matchmaker match`: one pass against the configured backend, for an external cron. It finishes
/// what an earlier pass left undelivered first, then runs the pass; with `recording`, every HTTP
/// exchange of the pass, the lobby it read, the clock and the seed become an upstream fixture.
public struct OneShotPass: Sendable {
    /// What the pass answered: 200 with the report, or 500 with the failure body.
    public struct Outcome: Sendable {
        /// The function's HTTP status.
        public var status: Int
        /// The function's JSON body.
        public var body: JSONValue
        /// The recorded fixture, when recording.
        public var fixture: UpstreamFixture?
    }

    let config: MatchmakerConfig
    let recordingName: String?
    let logger: Logger

    /// A pass over `config`; `recordingName` names the fixture to record (needs `SUPABASE_URL` alone).
    public init(config: MatchmakerConfig, recordingName: String? = nil, logger: Logger) throws(ConfigError) {
        var config = config
        if recordingName != nil {
            guard config.supabaseURL != nil, config.databaseURL == nil else {
                throw ConfigError(
                    key: "SUPABASE_URL", value: "(--record records HTTP exchanges with Supabase: set it, and not DATABASE_URL)")
            }
            // One pair at a time, so that a replay sees the requests in the order they were made.
            config.pass.commitConcurrency = 1
        }
        self.config = config
        self.recordingName = recordingName
        self.logger = logger
    }

    /// Runs the pass with the backend's clients, then stops them.
    public func run() async throws -> Outcome {
        let startedAt = Date()
        let time = Timekeeper(now: { startedAt }, sleep: { try await Task.sleep(for: $0) })
        let seed = UInt64.random(in: 0 ... .max)
        let backend = try Backend.make(config: config, logger: logger, oneShot: true, record: recordingName != nil, time: time)
        let recorded = RecordedPass(seed: seed)
        let (config, logger) = (config, logger)
        let outcome: (status: Int, body: JSONValue) = try await backend.withServices {
            if let readiness = await backend.readiness() {
                logger.error("Backend not ready", metadata: ["backend.reason": "\(readiness)"])
                return (500, PassReport.failureBody(message: "Backend not ready"))
            }
            if let relay = backend.relay {
                do {
                    _ = try await relay.drain()
                } catch {
                    logger.warning("Outbox relay failed; the next pass retries it", metadata: ["error": "\(error)"])
                }
            }
            // Only the pass's own exchanges go into a recording, not the readiness probe before it.
            recorded.firstExchange = backend.recorder?.exchanges.count ?? 0
            var ports = backend.ports
            ports.presence = RecordingPresence(inner: backend.ports.presence, record: recorded)
            let pass = MatchPass(
                ports: ports, settings: config.pass, time: time, roomIDs: RoomIDSource(seed: seed), logger: logger, unit: recorded.unit
            )
            do {
                return (200, try await pass.run().responseBody)
            } catch let error as PassError {
                return (500, PassReport.failureBody(message: error.message))
            }
        }
        var fixture: UpstreamFixture?
        if let recordingName, let recorder = backend.recorder {
            fixture = UpstreamFixture(
                name: recordingName, description: "Recorded by `matchmaker match --record` against \(config.supabaseURL ?? "?").",
                now: Timestamp.format(startedAt), seed: seed, config: UpstreamFixture.Config(config.pass, queueName: config.queueName),
                presence: recorded.presence ?? .unavailable(reason: "not read"),
                exchanges: Array(recorder.exchanges.dropFirst(recorded.firstExchange)),
                expected: UpstreamFixture.Outcome(status: outcome.status, response: outcome.body)
            )
        }
        return Outcome(status: outcome.status, body: outcome.body, fixture: fixture)
    }
}
