import ArgumentParser
import Foundation
import Logging
import MatchmakerCore
import Shared

/// `matchmaker match`: one pass, the report on standard output, exit 1 on failure (for an external cron).
struct Match: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one pass against the configured backend and print its report.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Write a fixture of the pass's upstream exchanges to this file (needs SUPABASE_URL).")
    var record: String?

    func run() async throws {
        var (config, logger) = try common.bootstrap()
        let log = logger
        if record != nil {
            guard config.supabaseURL != nil, config.databaseURL == nil else {
                throw ValidationError("--record records HTTP exchanges with Supabase: set SUPABASE_URL (and not DATABASE_URL)")
            }
            // One pair at a time, so that a replay sees the requests in the order they were made.
            config.pass.commitConcurrency = 1
        }
        let startedAt = Date()
        let time = Timekeeper(now: { startedAt }, sleep: { try await Task.sleep(for: $0) })
        let seed = UInt64.random(in: 0 ... .max)
        let settings = config.pass
        let backend = try Backend.make(config: config, logger: log, oneShot: true, record: record != nil, time: time)
        let recorded = RecordedPass(seed: seed)
        let outcome: (status: Int, body: JSONValue) = try await backend.withServices {
            if let readiness = await backend.readiness() {
                log.error("Backend not ready", metadata: ["backend.reason": "\(readiness)"])
                return (500, PassReport.failureBody(message: "Backend not ready"))
            }
            if let relay = backend.relay {
                do {
                    _ = try await relay.drain()
                } catch {
                    log.warning("Outbox relay failed; the next pass retries it", metadata: ["error": "\(error)"])
                }
            }
            // Only the pass's own exchanges go into a recording, not the readiness probe before it.
            recorded.firstExchange = backend.recorder?.exchanges.count ?? 0
            let presence = RecordingPresence(inner: backend.ports.presence, record: recorded)
            var ports = backend.ports
            ports.presence = presence
            let pass = MatchPass(
                ports: ports, settings: settings, time: time, roomIDs: RoomIDSource(seed: seed), logger: log,
                unit: recorded.unit
            )
            do {
                return (200, try await pass.run().responseBody)
            } catch let error as PassError {
                return (500, PassReport.failureBody(message: error.message))
            }
        }
        print(try JSONCoding.string(outcome.body, pretty: true))
        if let record, let recorder = backend.recorder {
            let fixture = UpstreamFixture(
                name: URL(fileURLWithPath: record).deletingPathExtension().lastPathComponent,
                description: "Recorded by `matchmaker match --record` against \(config.supabaseURL ?? "?").",
                now: Timestamp.format(startedAt), seed: seed, config: UpstreamFixture.Config(config.pass, queueName: config.queueName),
                presence: recorded.presence ?? .unavailable(reason: "not read"),
                exchanges: Array(recorder.exchanges.dropFirst(recorded.firstExchange)),
                expected: UpstreamFixture.Outcome(status: outcome.status, response: outcome.body)
            )
            try Data((try JSONCoding.string(fixture, pretty: true) + "\n").utf8).write(to: URL(fileURLWithPath: record))
            logger.info("Fixture recorded", metadata: ["fixture.path": "\(record)", "fixture.exchanges": "\(recorder.exchanges.count)"])
        }
        if outcome.status != 200 { throw ExitCode.failure }
    }
}
