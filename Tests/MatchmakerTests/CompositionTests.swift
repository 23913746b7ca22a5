import EmbeddedSupabase
import MatchmakerCore
import TestSupport
import Testing

/// `buildServe` decides what runs beside the server; `BoundPort` hands its port to whoever waits.
@Suite struct CompositionTests {
    func server(bots: Bool, secret: String? = nil, key: String? = nil) async -> Server {
        var config = MatchmakerConfig()
        config.port = 0
        config.jwtSecret = secret
        var botConfig = BotConfig()
        botConfig.enabled = bots
        botConfig.serviceRoleKey = key
        return await buildServe(
            config: config, bots: botConfig, backend: .embedded(EmbeddedBackend()), exporter: PrometheusExporter(), logger: testLogger)
    }

    @Test func theEmbeddedBackendRunsItsBotsInProcessUnlessTheyAreOff() async {
        #expect(await server(bots: true).parts.bots != nil)
        #expect(await server(bots: false).parts.bots == nil)
    }

    @Test func aJWTSecretWithoutAServiceKeyLeavesTheBotsOff() async {
        #expect(await server(bots: true, secret: "a-project-secret-of-at-least-32-bytes").parts.bots == nil)
        #expect(await server(bots: true, secret: "a-project-secret-of-at-least-32-bytes", key: "service").parts.bots != nil)
    }

    @Test func everyReaderOfTheBoundPortGetsIt() async {
        let port = BoundPort()
        async let early = port.value()
        port.bind(4321)
        port.bind(1)
        #expect(await early == 4321)
        #expect(await port.value() == 4321)
    }

    @Test func aReaderCancelledBeforeTheServerListensGetsNil() async {
        let port = BoundPort()
        let reader = Task { await port.value() }
        reader.cancel()
        #expect(await reader.value == nil)
    }
}
