import AsyncHTTPClient
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Shared

/// `matchmaker doctor`: checks a project before the switch-over from the Edge Function and the Bun bot
/// service, through its APIs (`SUPABASE_URL` with the service key, and `SUPABASE_ANON_KEY` for what
/// browsers can do) and/or its database (`DATABASE_URL`). It changes nothing.
public enum Doctor {
    /// Runs every check the configuration allows against the project `config` points at, with the
    /// clients the checks need, then stops the clients.
    public static func run(config: MatchmakerConfig, logger: Logger) async -> DoctorReport {
        guard config.supabaseURL != nil || config.databaseURL != nil else {
            return DoctorReport(checks: [
                DoctorCheck(
                    "config", .fail, "nothing to check: neither SUPABASE_URL nor DATABASE_URL is set",
                    fix: "set SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY (and SUPABASE_ANON_KEY), and/or DATABASE_URL")
            ])
        }
        var checks: [DoctorCheck] = []
        if let url = config.supabaseURL, let key = config.serviceRoleKey {
            checks += await supabaseChecks(url: url, key: key, config: config, logger: logger)
        }
        if let url = config.databaseURL {
            checks += await databaseChecks(url: url, config: config, logger: logger)
        }
        return DoctorReport(checks: checks)
    }

    private static func supabaseChecks(url: String, key: String, config: MatchmakerConfig, logger: Logger) async -> [DoctorCheck] {
        let timeout = config.pass.attemptTimeout ?? .seconds(8)
        let http = AsyncHTTPTransport.makeClient(connectTimeout: timeout)
        let service = AsyncHTTPTransport(client: http, baseURL: url, apiKey: key, timeout: timeout, logger: logger)
        let anon = config.anonKey.map { AsyncHTTPTransport(client: http, baseURL: url, apiKey: $0, timeout: timeout, logger: logger) }
        let realtime = RealtimeClient(
            configuration: config.realtimeConfiguration(url: url, apiKey: key), handshakeProbe: service, logger: logger)
        let probe = SupabaseProbe(url: url, serviceKey: key, service: service, anon: anon, queue: config.queueName, realtime: realtime)
        return await withClients([HTTPClientService(client: http), realtime], logger: logger) { await probe.checks() }
    }

    private static func databaseChecks(url: String, config: MatchmakerConfig, logger: Logger) async -> [DoctorCheck] {
        let configuration: PostgresClient.Configuration
        do {
            configuration = try DatabaseURL(url).configuration
        } catch {
            return [
                DoctorCheck(
                    "database.connection", .fail, "DATABASE_URL does not parse: \(error)", fix: "postgresql://user:password@host:5432/db")
            ]
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let host = config.supabaseURL.flatMap { URL(string: $0)?.host }
        let probe = DatabaseProbe(
            client: client, queue: config.queueName, projectHost: host, connectTimeout: config.pass.attemptTimeout ?? .seconds(8),
            logger: logger)
        return await withClients([client], logger: logger) { await probe.checks() }
    }

    /// The probe's checks, run while its clients run; the clients stop afterwards.
    private static func withClients(_ clients: [any Service], logger: Logger, _ probe: @Sendable () async -> [DoctorCheck]) async
        -> [DoctorCheck]
    {
        (try? await withRunning(clients, logger: logger, probe)) ?? []
    }
}
