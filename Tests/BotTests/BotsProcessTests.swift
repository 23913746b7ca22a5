import EmbeddedSupabase
import Foundation
import Hummingbird
import HummingbirdTesting
import MatchmakerCore
import ServiceLifecycle
import Shared
import TestSupport
import Testing

extension LiveBotTests {
    /// `matchmaker bots` as `main` builds it (`buildBots`), against a live embedded `serve`.
    @Suite struct BotsProcessTests {
        /// Polls `condition` every 10 ms, for state no event announces; fails the test after `limit`.
        func until(within limit: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws {
            let deadline = ContinuousClock.now + limit
            while try await !condition() {
                guard ContinuousClock.now < deadline else {
                    Issue.record("condition not met within \(limit)")
                    return
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }

        @Test func theBotsProcessServesReadinessMetricsAndStats() async throws {
            try await withWatchdog {
                // No scheduled pass: the bots stay waiting in the queue.
                try await withMatchmaker(interval: .seconds(3600)) { port, _ in
                    var config = MatchmakerConfig()
                    config.port = 0
                    config.supabaseURL = "http://127.0.0.1:\(port)"
                    config.serviceRoleKey = "test-key"
                    var bots = BotConfig()
                    bots.manager.target = BotTarget(min: 2, max: 2, percentage: 30)
                    bots.manager.stagger = Stagger(min: .zero, max: .zero)
                    bots.manager.interval = .seconds(600)
                    let exporter = PrometheusExporter()
                    let app = try buildBots(config: config, bots: bots, exporter: exporter, logger: testLogger)
                    try await app.test(.live) { client in
                        try await until { try await client.execute(uri: "/readyz", method: .get).status == .ok }
                        #expect(try await client.execute(uri: "/readyz", method: .get).json == ["status": "ready"])
                        try await until {
                            let stats = try await client.execute(uri: "/stats", method: .get).json
                            return stats?["totalBots"] == 2 && stats?["waiting"] == 2
                        }
                        #expect(try await client.execute(uri: "/nope", method: .get).status == .notFound)
                        let samples = prometheusSamples(try await client.execute(uri: "/metrics", method: .get).text)
                        let expected: [String: Double] = [
                            "matchmaker_bots_target": 2,
                            "matchmaker_bots_running": 2,
                            "matchmaker_bots_waiting": 2,
                            "matchmaker_bots_in_room": 0,
                            // One socket: the manager's lobby observer and the bots' `user:<id>` channels share it.
                            "matchmaker_realtime_active_connections": 1,
                            "matchmaker_realtime_connect_attempts_total": 1,
                            "matchmaker_realtime_failed_connections_total": 0,
                            #"matchmaker_http_requests_total{method="GET",route="unmatched",status="404"}"#: 1,
                        ]
                        expectSamples(samples, expected)
                        #expect((samples[#"matchmaker_http_requests_total{method="GET",route="/stats",status="200"}"#] ?? 0) >= 1)
                    }
                }
            }
        }

        @Test func theBotsProcessIsNotReadyBeforeItsManagerRuns() async throws {
            let parts = buildBotService(
                config: BotConfig(), realtime: RealtimeConfiguration(url: "http://127.0.0.1:9", apiKey: "k"),
                metrics: PrometheusExporter().factory, logger: testLogger)
            // Only the HTTP client runs (it must be shut down): the manager never starts.
            let group = ServiceGroup(services: [parts.http], logger: testLogger)
            async let running: Void = group.run()
            #expect(botReadiness(parts.manager) == "the bot manager has not started")
            await group.triggerGracefulShutdown()
            try await running
        }
    }
}

extension TestResponse {
    var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)) }
    var text: String { String(buffer: body) }
}
