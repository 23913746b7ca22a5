import Foundation
import Logging
import NIOSSL
import PostgresNIO
import ServiceLifecycle
import Shared
import Synchronization

/// `LISTEN matchmaker_enqueue` on a PostgreSQL connection of its own: every notification (the queue's
/// AFTER INSERT trigger, migration `…07_stranger_queue_notify.sql`) calls `signal`.
///
/// A lost connection is reopened with backoff; while it is down, the schedule (`MATCH_INTERVAL`) matches,
/// and each new `LISTEN` signals once, since an enqueue may have gone unheard meanwhile.
public final class QueueListener: Service, Sendable {
    /// The channel the trigger notifies.
    public static let channel = "matchmaker_enqueue"

    private let configuration: PostgresConnection.Configuration
    private let signal: @Sendable () -> Void
    private let backoff: Backoff
    private let time: Timekeeper
    private let logger: Logger
    private let unit: @Sendable () -> Double
    private let sessionCount = Mutex(0)
    private let lossCount = Mutex(0)

    /// Creates a listener.
    /// - Parameters:
    ///   - configuration: the connection (`DATABASE_URL`), opened for this listener alone.
    ///   - backoff: delays between reconnections (the retry count is ignored: it never gives up).
    ///   - time: the clock of those delays.
    public init(
        configuration: PostgresConnection.Configuration,
        backoff: Backoff = Backoff(maxRetries: 0, baseDelay: .milliseconds(500), maxDelay: .seconds(30)),
        time: Timekeeper = .system, logger: Logger, unit: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) },
        signal: @escaping @Sendable () -> Void
    ) {
        self.configuration = configuration
        self.backoff = backoff
        self.time = time
        self.logger = logger
        self.unit = unit
        self.signal = signal
    }

    /// How many times a `LISTEN` has been established.
    public var sessions: Int { sessionCount.withLock { $0 } }

    /// How many times a `LISTEN` (or an attempt at one) was lost; a shutdown ending it is not a loss.
    public var losses: Int { lossCount.withLock { $0 } }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { [self] in
                var failures = 0
                while true {
                    try Task.checkCancellation()
                    let before = sessions
                    do {
                        try await listenOnce()
                    } catch {
                        // Cancelled by the shutdown, the notifications end as if the connection had: not a loss.
                        if error is CancellationError || Task.isCancelled { throw CancellationError() }
                        // A session that was established starts the backoff over.
                        failures = sessions > before ? 1 : failures + 1
                        lossCount.withLock { $0 += 1 }
                        logger.warning(
                            "Queue LISTEN lost; passes run on the schedule until it is back",
                            metadata: ["error": "\(String(reflecting: error))", "listen.failures": "\(failures)"])
                    }
                    try await time.sleep(backoff.delay(attempt: min(failures, 20), unit: unit()))
                }
            }
        } catch is CancellationError {
            // Shutting down.
        }
    }

    /// Connects, listens until the connection ends, and closes it.
    private func listenOnce() async throws {
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        do {
            try await connection.listen(on: Self.channel) { notifications in
                sessionCount.withLock { $0 += 1 }
                logger.info("Listening for enqueues", metadata: ["listen.channel": "\(Self.channel)"])
                signal()
                for try await _ in notifications { signal() }
            }
        } catch {
            await close(connection)
            throw error
        }
        await close(connection)
        throw QueueListenerEnded()
    }

    private func close(_ connection: PostgresConnection) async {
        do {
            try await connection.close()
        } catch {
            logger.debug("Closing the LISTEN connection failed", metadata: ["error": "\(error)"])
        }
    }
}

/// The notification stream ended without an error: the connection is gone all the same.
struct QueueListenerEnded: Error, CustomStringConvertible {
    var description: String { "the LISTEN connection ended" }
}

extension DatabaseURL {
    /// The postgres-nio configuration of a single connection to this URL (the `LISTEN` connection).
    /// - Throws: when the TLS settings (`sslrootcert`) cannot be loaded.
    public func connectionConfiguration() throws -> PostgresConnection.Configuration {
        PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: try tlsConfiguration.map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable
        )
    }
}
