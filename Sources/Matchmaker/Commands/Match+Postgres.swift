import ArgumentParser
import Logging
import MatchmakerCore
import Shared

extension Match {
    /// One pass on the `postgres` backend (`DATABASE_URL` without `SUPABASE_URL`): first the relay
    /// finishes matches that an earlier pass left undelivered, then the pass runs. Notifications go
    /// through `realtime.send`; there is no lobby presence, so the pass runs degraded.
    func runOnPostgres(url: String, config: MatchmakerConfig, logger: Logger) async throws {
        let backend: PostgresBackend
        do {
            backend = try PostgresBackend(url: url, queueName: config.queueName, settings: config.pass, logger: logger)
        } catch let error as DatabaseURLError {
            throw ValidationError(error.description)
        }
        let notifier = SQLBroadcastNotifier(client: backend.client, logger: logger)
        let presence = EmbeddedPresence(.unavailable(reason: "no Realtime configured for the postgres backend"))
        let body: JSONValue = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await backend.run() }
            defer { group.cancelAll() }
            do {
                let relayed = try await backend.relay(notifier: notifier, settings: config.pass).drain()
                if relayed.claimed > 0 {
                    logger.info(
                        "Abandoned matches relayed",
                        metadata: ["outbox.delivered": "\(relayed.delivered)", "outbox.undone": "\(relayed.undone)"]
                    )
                }
            } catch {
                logger.warning("Outbox relay failed; the next pass retries it", metadata: ["error": "\(error)"])
            }
            let pass = MatchPass(ports: backend.ports(presence: presence, notifier: notifier), settings: config.pass, logger: logger)
            do {
                return try await pass.run().responseBody
            } catch let error as PassError {
                print(try JSONCoding.string(PassReport.failureBody(message: error.message), pretty: true))
                throw ExitCode.failure
            }
        }
        print(try JSONCoding.string(body, pretty: true))
    }
}
