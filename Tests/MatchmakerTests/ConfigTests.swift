import Configuration
import Logging
import MatchmakerCore
import Shared
import Testing

@Suite struct ConfigTests {
    func config(_ environment: [String: String]) throws -> MatchmakerConfig {
        try MatchmakerConfig(reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: environment)))
    }

    @Test func defaultsAreTheContractValues() throws {
        let config = try config([:])
        #expect(config.queueName == "stranger-queue")
        #expect(config.pass.leaseSeconds == 30)
        #expect(config.pass.batchSize == 100)
        #expect(config.matchInterval == .seconds(2))
        #expect(config.pass.policy == MatchPolicy(skipWindow: 10, staleAfter: 30, botFillAfter: 5, queueTTL: 60))
        #expect(config.pass.attemptTimeout == .seconds(8))
        #expect(config.jwtSecret == nil)
        #expect(config.port == 8080)
        #expect(config.embeddedQueueMaxMessages == 100_000)
        #expect(config.logFormat == .text)
    }

    @Test func theEmbeddedQueueLengthIsConfigurableAndBounded() throws {
        #expect(try config(["EMBEDDED_QUEUE_MAX_MESSAGES": "500"]).embeddedQueueMaxMessages == 500)
        #expect(throws: ConfigError.self) { try config(["EMBEDDED_QUEUE_MAX_MESSAGES": "0"]) }
        #expect(throws: ConfigError.self) { try config(["EMBEDDED_QUEUE_MAX_MESSAGES": "lots"]) }
    }

    @Test func logFormatIsTextOrJSONAndAnythingElseIsNamed() throws {
        #expect(try config(["LOG_FORMAT": "JSON"]).logFormat == .json)
        #expect(try config(["LOG_FORMAT": "text"]).logFormat == .text)
        let error = #expect(throws: ConfigError.self) { try config(["LOG_FORMAT": "xml"]) }
        #expect(error?.description == #"invalid value for LOG_FORMAT: "xml""#)
    }

    @Test func environmentVariablesOverrideDefaults() throws {
        let config = try config([
            "QUEUE_NAME": "q", "QUEUE_LEASE_SECONDS": "45", "MATCH_INTERVAL": "0.5", "SKIP_WINDOW": "20", "STALE_AFTER": "40",
            "BOT_FILL_AFTER": "7", "QUEUE_TTL": "90", "REALTIME_CONNECT_TIMEOUT": "3", "HTTP_PORT": "0", "BATCH_SIZE": "10",
            "SUPABASE_JWT_SECRET": "s3cret", "NOTIFY_MAX_RETRIES": "5", "LOG_LEVEL": "DEBUG",
        ])
        #expect(config.queueName == "q")
        #expect(config.pass.leaseSeconds == 45)
        #expect(config.matchInterval == .milliseconds(500))
        #expect(config.pass.policy == MatchPolicy(skipWindow: 20, staleAfter: 40, botFillAfter: 7, queueTTL: 90))
        #expect(config.pass.attemptTimeout == .seconds(3))
        #expect(config.port == 0)
        #expect(config.pass.batchSize == 10)
        #expect(config.jwtSecret == "s3cret")
        #expect(config.pass.notifyBackoff.maxRetries == 5)
        #expect(config.logLevel == .debug)
    }

    @Test func eventPassesAreOnByDefaultAndConfigurable() throws {
        let defaults = try config([:])
        #expect(defaults.matchOnEvents)
        #expect(defaults.matchDebounce == .milliseconds(30))
        #expect(defaults.maxWaitingCallers == 256)
        let set = try config(["MATCH_ON_EVENTS": "off", "MATCH_DEBOUNCE": "0.05", "MATCH_MAX_WAITING_CALLERS": "8"])
        #expect(!set.matchOnEvents)
        #expect(set.matchDebounce == .milliseconds(50))
        #expect(set.maxWaitingCallers == 8)
        #expect(throws: ConfigError.self) { try config(["MATCH_DEBOUNCE": "-1"]) }
        #expect(throws: ConfigError.self) { try config(["MATCH_MAX_WAITING_CALLERS": "-1"]) }
        #expect(!MatchmakerConfig.onDemand.matchOnEvents, "on demand: passes only when the function is called")
    }

    @Test func theJWKSURLDefaultsToTheProjectsWhenThereIsNoJWTSecret() throws {
        let project = try config(["SUPABASE_URL": "https://ref.supabase.co/", "SUPABASE_SERVICE_ROLE_KEY": "sb_secret_x"])
        #expect(project.jwksURL == "https://ref.supabase.co/auth/v1/.well-known/jwks.json")
        #expect(project.requiresAuthentication)
        let withSecret = try config([
            "SUPABASE_URL": "https://ref.supabase.co", "SUPABASE_SERVICE_ROLE_KEY": "k", "SUPABASE_JWT_SECRET": "s",
        ])
        #expect(withSecret.jwksURL == nil)
        let both = try config([
            "SUPABASE_URL": "https://ref.supabase.co", "SUPABASE_SERVICE_ROLE_KEY": "k", "SUPABASE_JWT_SECRET": "s",
            "SUPABASE_JWKS_URL": "https://keys.example/jwks.json",
        ])
        #expect(both.jwksURL == "https://keys.example/jwks.json" && both.jwtSecret == "s")
        let local = try config([:])
        #expect(local.jwksURL == nil && !local.requiresAuthentication)
    }

    @Test func newKeysAndTheirAliases() throws {
        let aliases = try config([
            "SUPABASE_URL": "https://ref.supabase.co", "SUPABASE_SECRET_KEY": "sb_secret_abc",
            "SUPABASE_PUBLISHABLE_KEY": "sb_publishable_abc",
        ])
        #expect(aliases.serviceRoleKey == "sb_secret_abc")
        #expect(aliases.anonKey == "sb_publishable_abc")
        #expect(aliases.acceptedAPIKeys == ["sb_secret_abc", "sb_publishable_abc"])
        let preferred = try config(["SUPABASE_SERVICE_ROLE_KEY": "eyJ.legacy.jwt", "SUPABASE_SECRET_KEY": "sb_secret_abc"])
        #expect(preferred.serviceRoleKey == "eyJ.legacy.jwt")
        #expect(preferred.acceptedAPIKeys.isEmpty && !preferred.requiresAuthentication)
        #expect(try config(["SUPABASE_SECRET_KEY": "sb_secret_abc"]).requiresAuthentication)
        #expect(
            try BotConfig(
                reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: ["SUPABASE_SECRET_KEY": "sb_secret_abc"]))
            ).serviceRoleKey == "sb_secret_abc")
    }

    @Test func realtimeKeysReachTheClientConfiguration() throws {
        let defaults = try config([:]).realtimeConfiguration(url: "http://x", apiKey: "k")
        #expect(defaults.joinsPerSecond == 100)
        #expect(defaults.maxChannelsPerConnection == 10)
        #expect(defaults.connectTimeout == .seconds(8))
        let tuned = try config(["REALTIME_JOINS_PER_SECOND": "40", "MAX_CHANNELS_PER_CONNECTION": "5", "REALTIME_CONNECT_TIMEOUT": "3"])
            .realtimeConfiguration(url: "http://x", apiKey: "k")
        #expect(tuned.joinsPerSecond == 40)
        #expect(tuned.maxChannelsPerConnection == 5)
        #expect(tuned.connectTimeout == .seconds(3))
        #expect(tuned.url == "http://x" && tuned.apiKey == "k")
    }

    @Test(arguments: [
        ("HTTP_PORT", "eighty"), ("HTTP_PORT", "70000"), ("MATCH_INTERVAL", "-1"), ("QUEUE_LEASE_SECONDS", "0"),
        ("SKIP_WINDOW", "ten"), ("LOG_LEVEL", "loud"), ("BATCH_SIZE", "1.5"), ("REALTIME_JOINS_PER_SECOND", "0"),
        ("MAX_CHANNELS_PER_CONNECTION", "many"), ("LOG_FORMAT", "xml"),
    ])
    func invalidValuesAreErrorsNotSilentDefaults(key: String, value: String) {
        #expect(throws: ConfigError.self) { try config([key: value]) }
    }

    @Test(arguments: [
        ("on", true), ("off", false), ("true", true), ("FALSE", false), ("yes", true), ("no", false), ("1", true), ("0", false),
    ])
    func everySwitchTakesOneGrammar(text: String, value: Bool) throws {
        #expect(try config(["NOTIFY_PRIVATE": text]).notifyPrivate == value)
        let bots = try BotConfig(reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: ["BOTS": text])))
        #expect(bots.enabled == value)
    }

    @Test func botKeysReachTheManager() throws {
        let environment = [
            "BOT_MIN_COUNT": "2", "BOT_MAX_COUNT": "9", "BOT_TARGET_PERCENTAGE": "50", "MAINTENANCE_INTERVAL_MS": "1500",
            "BOT_STAGGER_MIN_MS": "10", "BOT_STAGGER_MAX_MS": "20",
        ]
        let bots = try BotConfig(reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: environment)))
        #expect(bots.manager.target == BotTarget(min: 2, max: 9, percentage: 50))
        #expect(bots.manager.interval == .milliseconds(1500))
        #expect(bots.manager.stagger == Stagger(min: .milliseconds(10), max: .milliseconds(20)))
    }

    @Test(arguments: [
        ("BOTS", "maybe"), ("NOTIFY_PRIVATE", "2"), ("BOT_MIN_COUNT", "-1"), ("BOT_MAX_COUNT", "x"), ("MAINTENANCE_INTERVAL_MS", "0"),
        ("BOT_STAGGER_MIN_MS", "1.5"),
    ])
    func invalidSwitchesAndBotValuesAreErrorsNamingTheKey(key: String, value: String) {
        let environment = [key: value]
        let error = #expect(throws: ConfigError.self) {
            _ = try config(environment)
            _ = try BotConfig(reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: environment)))
        }
        #expect(error?.key == key)
    }

    @Test func aMaximumBelowTheMinimumIsAnError() {
        let environment = ["BOT_MIN_COUNT": "5", "BOT_MAX_COUNT": "4"]
        #expect(throws: ConfigError.self) {
            try BotConfig(reader: ConfigReader(provider: EnvironmentVariablesProvider(environmentVariables: environment)))
        }
    }

    @Test func commandLineValuesWinAndAreCheckedAlike() throws {
        let reader = ConfigReader(providers: [
            InMemoryProvider(values: ["http.port": ConfigValue(.string("0"), isSecret: false)]),
            EnvironmentVariablesProvider(environmentVariables: ["HTTP_PORT": "9000"]),
        ])
        #expect(try MatchmakerConfig(reader: reader).port == 0)
        let bad = ConfigReader(providers: [InMemoryProvider(values: ["http.port": ConfigValue(.string("eighty"), isSecret: false)])])
        #expect(throws: ConfigError.self) { try MatchmakerConfig(reader: bad) }
    }
}
