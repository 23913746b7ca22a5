import Configuration
import Foundation
import Logging
import Shared

/// The matchmaker's settings, read from one `ConfigReader` (command-line options first, then environment).
///
/// ## Configuration keys
/// Each key is shown as its environment variable; command-line options of the same name win. A switch
/// takes `true`/`false`, `yes`/`no`, `1`/`0` or `on`/`off`.
/// - `HTTP_HOST` (string, default `127.0.0.1`): address to bind; `0.0.0.0` in containers.
/// - `HTTP_PORT` (int, default `8080`): port to bind; `0` picks a free one.
/// - `LOG_LEVEL` (string, default `info`): `trace`, `debug`, `info`, `notice`, `warning`, `error`, `critical`.
/// - `LOG_FORMAT` (string, default `text`): `text` (swift-log's lines) or `json` (one JSON object per line).
/// - `QUEUE_NAME` (string, default `stranger-queue`): the pgmq queue.
/// - `QUEUE_LEASE_SECONDS` (int, default `30`): pgmq visibility timeout of a pass's read.
/// - `BATCH_SIZE` (int, default `100`): messages leased per pass.
/// - `MATCH_INTERVAL` (seconds, default `2`): time between scheduled passes in `serve`.
/// - `MATCH_ON_EVENTS` (switch, default `true`): `serve` also runs a pass shortly after an enqueue or a lobby
///   status `waiting`, and at the moment a queued human becomes bot-eligible; `false` runs on the schedule only.
/// - `MATCH_DEBOUNCE` (seconds, default `0.03`): wait after such an event, so a burst of arrivals makes one pass.
/// - `MATCH_MAX_WAITING_CALLERS` (int, default `256`): function calls that may wait for the next pass; one
///   more is answered 503 with `Retry-After`.
/// - `SKIP_WINDOW` (seconds, default `10`): recent skips block a re-match for this long.
/// - `STALE_AFTER` (seconds, default `30`): a queued user absent from the lobby this long is dropped.
/// - `BOT_FILL_AFTER` (seconds, default `5`): a human waiting this long may be paired with a bot.
/// - `QUEUE_TTL` (seconds, default `60`): an unmatched user this old is told `stranger_no_matches`.
/// - `REALTIME_CONNECT_TIMEOUT` (seconds, default `8`): limit on one connect or notification attempt.
/// - `NOTIFY_MAX_RETRIES` (int, default `3`): retries of a failed notification.
/// - `NOTIFY_BASE_DELAY_MS` (int, default `250`): first retry delay; doubles up to 2 s, plus 30 % jitter.
/// - `COMMIT_CONCURRENCY` (int, default `8`): pairs committed at once.
/// - `SUPABASE_JWT_SECRET` (secret, optional): the project's legacy HS256 secret; HS256 tokens verify with it.
/// - `SUPABASE_JWKS_URL` (optional): the project's JWKS document; ES256/RS256 tokens verify with its keys
///   (fetched at start, refreshed every 10 min and on an unknown `kid`, at most once per 30 s). Default:
///   `<SUPABASE_URL>/auth/v1/.well-known/jwks.json` when `SUPABASE_URL` is set and `SUPABASE_JWT_SECRET` is not.
///   With a secret, a JWKS URL or a new API key (`sb_…`) configured, the function endpoint and the embedded
///   REST and Realtime slice require a valid token or key; with none of them they accept every caller.
/// - `SUPABASE_URL` (optional): the project URL; selects the `supabase` backend (with `DATABASE_URL`:
///   SQL for data, Supabase for presence and notifications).
/// - `SUPABASE_SERVICE_ROLE_KEY` (secret, required with `SUPABASE_URL`): the service key, either the legacy
///   `service_role` JWT (sent as `apikey` and bearer token) or a secret key `sb_secret_…` (sent as `apikey`
///   only; callers of the function endpoint may present it in `apikey`). `SUPABASE_SECRET_KEY` is read
///   when `SUPABASE_SERVICE_ROLE_KEY` is unset.
/// - `SUPABASE_ANON_KEY` (secret, optional): the anon JWT or a publishable key `sb_publishable_…`;
///   `matchmaker doctor` uses it to check what the app server and browsers can do, and a publishable
///   key is accepted in `apikey` as the `anon` role. `SUPABASE_PUBLISHABLE_KEY` is read when it is unset.
/// - `EMBEDDED_QUEUE_MAX_MESSAGES` (default `100000`): messages the embedded backend's queue holds; a send
///   beyond it is refused with 503, as the stand-in keeps everything in memory.
/// - `DATABASE_URL` (secret, optional): selects the `postgres` backend; neither URL means the embedded backend.
/// - `NOTIFY_PRIVATE` (switch, default `false`): broadcast notifications on private channels.
/// - `HTTP_CONNECTIONS_PER_HOST` (int, default `8`): outbound HTTP connection cap per host.
/// - `MAX_CHANNELS_PER_CONNECTION` (int, default `10`): Realtime channels multiplexed on one socket.
/// - `REALTIME_JOINS_PER_SECOND` (int, default `100`): Realtime joins per second across the pool
///   (Supabase's per-project limit; at most this many in any window of 1.1 s).
public struct MatchmakerConfig: Sendable, Hashable {
    /// Bind address.
    public var host = "127.0.0.1"
    /// Bind port.
    public var port = 8080
    /// Log level.
    public var logLevel = Logger.Level.info
    /// How log lines are written.
    public var logFormat = LogFormat.text
    /// The pgmq queue.
    public var queueName = "stranger-queue"
    /// Time between scheduled passes.
    public var matchInterval = Duration.seconds(2)
    /// Run passes on events (enqueues, lobby `waiting`, bot-fill moments) as well as on the schedule.
    public var matchOnEvents = true
    /// Wait after an event before its pass.
    public var matchDebounce = Duration.milliseconds(30)
    /// Function calls that may wait for the next pass.
    public var maxWaitingCallers = 256
    /// Pass settings.
    public var pass = MatchPass.Settings()
    /// HS256 secret for JWT verification.
    public var jwtSecret: String?
    /// The JWKS document for ES256/RS256 verification.
    public var jwksURL: String?
    /// Supabase project URL (selects the `supabase` backend).
    public var supabaseURL: String?
    /// PostgreSQL URL (selects the `postgres` backend).
    public var databaseURL: String?
    /// The service-role key for `SUPABASE_URL`.
    public var serviceRoleKey: String?
    /// The anon key, which only `doctor` uses (to see what the app server and browsers can do).
    public var anonKey: String?
    /// Broadcast on private channels.
    public var notifyPrivate = false
    /// Outbound HTTP connections per host.
    public var connectionsPerHost = 8
    /// Realtime channels per socket.
    public var maxChannelsPerConnection = 10
    /// Realtime joins per second across the pool.
    public var realtimeJoinsPerSecond = 100
    /// Messages the embedded backend's queue may hold (`EMBEDDED_QUEUE_MAX_MESSAGES`).
    public var embeddedQueueMaxMessages = 100_000

    /// The defaults.
    public init() {}

    /// Reads every key, failing on values that do not parse.
    public init(reader: ConfigReader) throws(ConfigError) {
        host = reader.string(forKey: "http.host", default: host)
        port = try reader.integer("http.port", default: port, in: 0...65535)
        let level = reader.string(forKey: "log.level", default: "info").lowercased()
        guard let parsed = Logger.Level(rawValue: level) else { throw ConfigError(key: "LOG_LEVEL", value: level) }
        logLevel = parsed
        let format = reader.string(forKey: "log.format", default: "text").lowercased()
        guard let parsedFormat = LogFormat(rawValue: format) else { throw ConfigError(key: "LOG_FORMAT", value: format) }
        logFormat = parsedFormat
        queueName = reader.string(forKey: "queue.name", default: queueName)
        matchInterval = .seconds(double: try reader.seconds("match.interval", default: 2))
        matchOnEvents = try reader.boolean("match.onEvents", default: matchOnEvents)
        matchDebounce = .seconds(double: try reader.seconds("match.debounce", default: 0.03))
        maxWaitingCallers = try reader.integer("match.maxWaitingCallers", default: maxWaitingCallers, in: 0...1_000_000)
        pass.leaseSeconds = try reader.integer("queue.leaseSeconds", default: pass.leaseSeconds, in: 1...3600)
        pass.batchSize = try reader.integer("batch.size", default: pass.batchSize, in: 1...10_000)
        pass.policy = MatchPolicy(
            skipWindow: try reader.seconds("skip.window", default: 10),
            staleAfter: try reader.seconds("stale.after", default: 30),
            botFillAfter: try reader.seconds("bot.fillAfter", default: 5),
            queueTTL: try reader.seconds("queue.ttl", default: 60)
        )
        pass.attemptTimeout = .seconds(double: try reader.seconds("realtime.connectTimeout", default: 8))
        pass.notifyBackoff.maxRetries = try reader.integer("notify.maxRetries", default: pass.notifyBackoff.maxRetries, in: 0...20)
        pass.notifyBackoff.baseDelay = try reader.milliseconds("notify.baseDelayMs", default: 250, in: 1...60_000)
        pass.commitConcurrency = try reader.integer("commit.concurrency", default: pass.commitConcurrency, in: 1...256)
        jwtSecret = reader.string(forKey: "supabase.jwtSecret", isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        supabaseURL = reader.string(forKey: "supabase.url").flatMap { $0.isEmpty ? nil : $0 }
        databaseURL = reader.string(forKey: "database.url", isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        serviceRoleKey = reader.serviceKey()
        anonKey = reader.nonEmpty("supabase.anonKey", isSecret: true) ?? reader.nonEmpty("supabase.publishableKey", isSecret: true)
        jwksURL = reader.nonEmpty("supabase.jwksUrl")
        if jwksURL == nil, jwtSecret == nil, let supabaseURL {
            jwksURL = (supabaseURL.hasSuffix("/") ? String(supabaseURL.dropLast()) : supabaseURL) + "/auth/v1/.well-known/jwks.json"
        }
        notifyPrivate = try reader.boolean("notify.private", default: false)
        connectionsPerHost = try reader.integer("http.connectionsPerHost", default: connectionsPerHost, in: 1...256)
        maxChannelsPerConnection = try reader.integer("maxChannelsPerConnection", default: maxChannelsPerConnection, in: 1...100)
        realtimeJoinsPerSecond = try reader.integer("realtime.joinsPerSecond", default: realtimeJoinsPerSecond, in: 1...10_000)
        embeddedQueueMaxMessages = try reader.integer(
            "embedded.queueMaxMessages", default: embeddedQueueMaxMessages, in: 1...100_000_000)
        if supabaseURL != nil, serviceRoleKey == nil {
            throw ConfigError(key: "SUPABASE_SERVICE_ROLE_KEY", value: "(missing: required with SUPABASE_URL)")
        }
    }
}

/// A configuration value that does not parse.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// The environment variable.
    public var key: String
    /// The offending value.
    public var value: String

    public var description: String { "invalid value for \(key): \"\(value)\"" }
}

extension MatchmakerConfig {
    /// The new API keys (`sb_secret_…`, `sb_publishable_…`) among the configured keys, which callers may
    /// present in `apikey` (legacy JWT keys verify as JWTs and are left out).
    public var acceptedAPIKeys: [String] {
        projectKeys.filter { SupabaseKeyKind(key: $0) != .legacyJWT }
    }

    /// Every key of the project this process was given (`SUPABASE_SERVICE_ROLE_KEY`, `SUPABASE_ANON_KEY`, of
    /// either generation): a caller presenting one of them exactly is that key's role.
    public var projectKeys: [String] { [serviceRoleKey, anonKey].compactMap { $0 } }

    /// Whether callers must authenticate: a JWT secret, a JWKS URL or a new API key is configured.
    public var requiresAuthentication: Bool {
        jwtSecret != nil || jwksURL != nil || !acceptedAPIKeys.isEmpty
    }

    /// A server on a free loopback port whose passes run only when the function is called (the schedule
    /// is an hour, no event triggers): what benchmarks and live tests start.
    public static var onDemand: MatchmakerConfig {
        var config = MatchmakerConfig()
        config.port = 0
        config.matchInterval = .seconds(3600)
        config.matchOnEvents = false
        return config
    }

    /// The Realtime client's settings for `url` with `apiKey`: connect timeout, channels per socket, join rate.
    public func realtimeConfiguration(url: String, apiKey: String) -> RealtimeConfiguration {
        var configuration = RealtimeConfiguration(url: url, apiKey: apiKey)
        configuration.connectTimeout = pass.attemptTimeout ?? .seconds(8)
        configuration.maxChannelsPerConnection = maxChannelsPerConnection
        configuration.joinsPerSecond = realtimeJoinsPerSecond
        return configuration
    }
}

/// How log lines are written (`LOG_FORMAT`).
public enum LogFormat: String, Sendable, Hashable, CaseIterable {
    /// swift-log's `StreamLogHandler` lines.
    case text
    /// One JSON object per line (`JSONLogHandler`).
    case json
}
