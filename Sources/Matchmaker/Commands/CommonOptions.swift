import ArgumentParser
import Configuration
import Logging
import MatchmakerCore

/// Options every command accepts; each overrides the environment variable of the same meaning.
struct CommonOptions: ParsableArguments {
    @Option(help: "Log level (LOG_LEVEL): trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    /// One reader: the options given on the command line first, then the environment.
    func reader(extra: [AbsoluteConfigKey: ConfigValue] = [:]) -> ConfigReader {
        var values = extra
        if let logLevel { values["log.level"] = ConfigValue(.string(logLevel), isSecret: false) }
        return ConfigReader(providers: [
            InMemoryProvider(name: "command line", values: values),
            EnvironmentVariablesProvider(
                secretsSpecifier: .specific(["SUPABASE_JWT_SECRET", "SUPABASE_SERVICE_ROLE_KEY", "DATABASE_URL"])
            ),
        ])
    }

    /// Reads the configuration and bootstraps logging to standard error (standard output stays clean for JSON).
    func bootstrap(extra: [AbsoluteConfigKey: ConfigValue] = [:]) throws -> (MatchmakerConfig, Logger) {
        let config: MatchmakerConfig
        do {
            config = try MatchmakerConfig(reader: reader(extra: extra))
        } catch let error as ConfigError {
            throw ValidationError(error.description)
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = config.logLevel
            return handler
        }
        return (config, Logger(label: "matchmaker"))
    }
}
