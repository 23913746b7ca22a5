import ArgumentParser
import Configuration
import Logging
import MatchmakerCore
import Shared

/// Options every command accepts; each overrides the environment variable of the same meaning.
struct CommonOptions: ParsableArguments {
    @Option(help: "Log level (LOG_LEVEL): trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(help: "Log format (LOG_FORMAT): text or json (one JSON object per line).")
    var logFormat: String?

    /// One reader: the options given on the command line first, then the environment.
    func reader(extra: [AbsoluteConfigKey: ConfigValue] = [:]) -> ConfigReader {
        var values = extra
        if let logLevel { values["log.level"] = ConfigValue(.string(logLevel), isSecret: false) }
        if let logFormat { values["log.format"] = ConfigValue(.string(logFormat), isSecret: false) }
        return ConfigReader(providers: [
            InMemoryProvider(name: "command line", values: values),
            EnvironmentVariablesProvider(
                secretsSpecifier: .specific([
                    "SUPABASE_JWT_SECRET", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_SECRET_KEY", "SUPABASE_ANON_KEY",
                    "SUPABASE_PUBLISHABLE_KEY", "DATABASE_URL",
                ])
            ),
        ])
    }

    /// Reads the configuration and bootstraps logging to standard error (standard output stays clean for JSON).
    func bootstrap(extra: [AbsoluteConfigKey: ConfigValue] = [:]) throws -> (MatchmakerConfig, Logger) {
        let config = try Self.validated { () throws(ConfigError) in try MatchmakerConfig(reader: reader(extra: extra)) }
        LoggingSystem.bootstrap { label in
            switch config.logFormat {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = config.logLevel
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = config.logLevel
                return handler
            }
        }
        return (config, Logger(label: "matchmaker"))
    }

    /// The bot service's keys (`BOTS`, `BOT_*`, `MAINTENANCE_INTERVAL_MS`) from the same reader.
    func bots(extra: [AbsoluteConfigKey: ConfigValue] = [:]) throws -> BotConfig {
        try Self.validated { () throws(ConfigError) in try BotConfig(reader: reader(extra: extra)) }
    }

    /// Runs `body`, turning a configuration error into argument parsing's usage error (exit 64).
    static func validated<T>(_ body: () throws(ConfigError) -> T) throws -> T {
        do {
            return try body()
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// Where a long-running command listens; each option overrides its environment variable.
struct ListenOptions: ParsableArguments {
    @Option(help: "Address to bind (HTTP_HOST, default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to bind; 0 picks a free one (HTTP_PORT, default 8080).")
    var port: Int?

    /// Reads the configuration of a long-running command (this address, then `extra`, then the
    /// environment), its bot keys, and bootstraps logging.
    func bootstrap(_ common: CommonOptions, adding extra: [AbsoluteConfigKey: ConfigValue]) throws -> (MatchmakerConfig, BotConfig, Logger)
    {
        let values = self.values.merging(extra) { $1 }
        let (config, logger) = try common.bootstrap(extra: values)
        return (config, try common.bots(extra: values), logger)
    }

    /// The options given, as configuration values.
    var values: [AbsoluteConfigKey: ConfigValue] {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        if let host { values["http.host"] = ConfigValue(.string(host), isSecret: false) }
        if let port { values["http.port"] = ConfigValue(.string(String(port)), isSecret: false) }
        return values
    }
}
