import Configuration
import Foundation
import Shared

/// The bot service's settings, read from the same `ConfigReader` as the rest.
///
/// ## Configuration keys
/// - `BOTS` (switch: `on`/`off`, `true`/`false`, `yes`/`no`, `1`/`0`; default `on`): `serve` on the embedded backend runs the bots in-process unless `off`.
/// - `BOT_MIN_COUNT` (int, default `3`): bots kept running with no human online.
/// - `BOT_MAX_COUNT` (int, default `15`): the most bots.
/// - `BOT_TARGET_PERCENTAGE` (int, default `30`): bots per hundred online humans (lobby keys that are not bots).
/// - `MAINTENANCE_INTERVAL_MS` (int, default `60000`): time between maintenance ticks; ticks never overlap.
/// - `BOT_STAGGER_MIN_MS`, `BOT_STAGGER_MAX_MS` (int, defaults `5000`, `8000`): the uniform pause after each start.
/// - `BOT_LEASE_SECONDS` (int, default `15`): how long a process's lease on a bot identity lasts unless renewed
///   (every third of it): after a crash, how long its bots may still be matched and when another process
///   takes them over.
/// - `SUPABASE_URL` (string): the project (or a running embedded `serve`) that `matchmaker bots` talks to.
/// - `SUPABASE_SERVICE_ROLE_KEY` (secret; alias `SUPABASE_SECRET_KEY`): the key for PostgREST and Realtime,
///   a service-role JWT or a secret key `sb_secret_…`; never logged.
public struct BotConfig: Sendable, Hashable {
    /// Whether `serve` runs bots in-process.
    public var enabled = true
    /// What the manager decides with.
    public var manager = BotManager.Settings()
    /// The service-role key.
    public var serviceRoleKey: String?

    /// The defaults.
    public init() {}

    /// Reads every key, failing on values that do not parse.
    public init(reader: ConfigReader) throws(ConfigError) {
        enabled = try reader.boolean("bots", default: true)
        let min = try reader.integer("bot.minCount", default: 3, in: 0...10_000)
        let max = try reader.integer("bot.maxCount", default: 15, in: 0...10_000)
        guard max >= min else { throw ConfigError(key: "BOT_MAX_COUNT", value: String(max)) }
        let percentage = try reader.integer("bot.targetPercentage", default: 30, in: 0...10_000)
        manager.target = BotTarget(min: min, max: max, percentage: percentage)
        manager.interval = try reader.milliseconds("maintenance.intervalMs", default: 60_000, in: 1...86_400_000)
        let low = try reader.integer("bot.staggerMinMs", default: 5000, in: 0...3_600_000)
        let high = try reader.integer("bot.staggerMaxMs", default: 8000, in: 0...3_600_000)
        guard high >= low else { throw ConfigError(key: "BOT_STAGGER_MAX_MS", value: String(high)) }
        manager.stagger = Stagger(min: .milliseconds(low), max: .milliseconds(high))
        manager.leaseSeconds = try reader.integer("bot.leaseSeconds", default: 15, in: 3...3600)
        serviceRoleKey = reader.serviceKey()
    }
}

extension BotConfig {
    /// No in-process bots.
    public static var off: BotConfig {
        var config = BotConfig()
        config.enabled = false
        return config
    }
}
