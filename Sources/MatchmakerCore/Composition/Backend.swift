import EmbeddedSupabase
import Foundation
import Logging
import ServiceLifecycle
import Shared

/// The backend a command runs against, chosen by configuration (design, "Chosen by config"):
/// `DATABASE_URL` means SQL for data, `SUPABASE_URL` means Supabase (for data too when there is no
/// `DATABASE_URL`, and for presence and notifications), neither means the embedded backend.
public struct Backend: Sendable {
    /// `embedded`, `supabase`, `postgres` or `postgres+supabase`.
    public var name: String
    /// The pass's ports.
    public var ports: MatchPorts
    /// The embedded backend, whose Supabase slice `serve` then serves.
    public var embedded: EmbeddedBackend?
    /// The Realtime client behind presence, when there is one.
    public var realtime: RealtimeClient?
    /// Whether a pass can run; a reason when it cannot.
    public var readiness: @Sendable () async -> String?
    /// Clients that must run while the backend is in use (database pool, Realtime sockets, HTTP client).
    public var services: [any Service]
    /// Finishes matches an earlier pass left undelivered (the outbox of `commit_stranger_match`).
    public var relay: OutboxRelay?
    /// Every HTTP exchange, when recording.
    public var recorder: RecordingTransport?
    /// The queue's levels, where the backend can read them: the embedded pgmq, or `pgmq.metrics` over
    /// `DATABASE_URL`. Not on `supabase` alone: `pgmq_public` does not expose `pgmq.metrics`.
    public var queueLevels: (@Sendable () async throws -> QueueLevels)?
    /// Rows of `matchmaker_outbox` not yet relayed, where the backend keeps an outbox.
    public var outboxBacklog: (@Sendable () async throws -> Int)?
    /// What tells this backend's `serve` that someone became matchable: given the trigger's `signal`, installs
    /// its hooks and returns the services that watch (the embedded pgmq's sends; a `LISTEN` on PostgreSQL; the
    /// lobby's presence on Supabase).
    public var eventSources: @Sendable (_ signal: @escaping @Sendable () -> Void) -> [any Service] = { _ in [] }

    /// The embedded backend `embedded`: nothing to start, always ready.
    public static func embedded(_ embedded: EmbeddedBackend) -> Backend {
        var backend = Backend(
            name: "embedded", ports: embedded.ports, embedded: embedded, readiness: { nil }, services: [],
            queueLevels: { embedded.queueLevels() }, outboxBacklog: { embedded.outboxBacklog() }
        )
        backend.eventSources = { signal in
            embedded.pgmq.onSend { [queueName = embedded.queueName] queue in
                if queue == queueName { signal() }
            }
            return []
        }
        return backend
    }

    /// Builds the configured backend.
    /// - Parameters:
    ///   - oneShot: `match` reads the lobby once and leaves; `serve` keeps it joined.
    ///   - record: keep every HTTP exchange with Supabase.
    ///   - time: the pass's clock.
    public static func make(
        config: MatchmakerConfig, logger: Logger, oneShot: Bool, record: Bool = false, time: Timekeeper = .system
    ) throws -> Backend {
        guard config.supabaseURL != nil || config.databaseURL != nil else {
            return .embedded(EmbeddedBackend(queueName: config.queueName, queueMaxMessages: config.embeddedQueueMaxMessages))
        }
        var services: [any Service] = []
        var presence: any PresenceSource = UnavailablePresence(reason: "no SUPABASE_URL: lobby presence is not configured")
        var realtime: RealtimeClient?
        var supabase: SupabaseBackend?
        var recorder: RecordingTransport?
        if let url = config.supabaseURL, let key = config.serviceRoleKey {
            let client = AsyncHTTPTransport.makeClient(
                connectionsPerHost: config.connectionsPerHost, connectTimeout: config.pass.attemptTimeout ?? .seconds(8)
            )
            services.append(HTTPClientService(client: client))
            let http = AsyncHTTPTransport(
                client: client, baseURL: url, apiKey: key, timeout: config.pass.attemptTimeout ?? .seconds(8), logger: logger
            )
            var transport: any HTTPTransport = http
            if record {
                recorder = RecordingTransport(recording: transport)
                transport = recorder!
            }
            supabase = SupabaseBackend(transport: transport, queueName: config.queueName, notifyPrivate: config.notifyPrivate)
            let realtimeConfiguration = config.realtimeConfiguration(url: url, apiKey: key)
            // The probe of a refused handshake goes straight to the project: it is not one of the pass's exchanges.
            let lobby = RealtimeClient(configuration: realtimeConfiguration, time: time, handshakeProbe: http, logger: logger)
            services.append(lobby)
            realtime = lobby
            presence = RealtimePresenceSource(client: lobby, time: time, keepJoined: !oneShot)
        }
        let watchLobby: @Sendable (@escaping @Sendable () -> Void) -> [any Service] = { [realtime] signal in
            realtime.map { [LobbyWatch(client: $0, time: time, logger: logger, signal: signal)] } ?? []
        }
        if let url = config.databaseURL {
            let postgres = try PostgresBackend(url: url, queueName: config.queueName, settings: config.pass, logger: logger)
            services.insert(postgres, at: 0)
            let notifier: any Notifier =
                supabase?.ports(presence: presence).notifier ?? SQLBroadcastNotifier(client: postgres.client, logger: logger)
            let listenConfiguration = try DatabaseURL(url).connectionConfiguration()
            var backend = Backend(
                name: supabase == nil ? "postgres" : "postgres+supabase", ports: postgres.ports(presence: presence, notifier: notifier),
                realtime: realtime, readiness: { await postgres.readiness() }, services: services,
                relay: postgres.relay(notifier: notifier, settings: config.pass), recorder: recorder,
                queueLevels: { try await postgres.queueLevels() }, outboxBacklog: { try await postgres.outboxBacklog() }
            )
            backend.eventSources = { signal in
                [QueueListener(configuration: listenConfiguration, time: time, logger: logger, signal: signal)] + watchLobby(signal)
            }
            return backend
        }
        let backend = supabase!
        return Backend(
            name: "supabase", ports: backend.ports(presence: presence), realtime: realtime,
            readiness: { await backend.readiness() }, services: services,
            relay: backend.relay(settings: config.pass, time: time, logger: logger), recorder: recorder,
            outboxBacklog: { [queueName = config.queueName] in try await backend.outboxBacklog(queueName: queueName) },
            eventSources: watchLobby
        )
    }

    /// Runs `body` while the backend's clients run, then stops them.
    public func withServices<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withRunning(services, logger: Logger(label: "matchmaker.clients"), body)
    }
}
