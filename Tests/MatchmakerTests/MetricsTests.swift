import EmbeddedSupabase
import Foundation
import HTTPTypes
import HummingbirdTesting
import MatchmakerCore
import Shared
import TestSupport
import Testing

/// Every metric the README lists under `/metrics`, with its value after a scripted run, read back
/// from `/metrics` itself (one exporter per test, as `serve` has one per process).
@Suite struct MetricsTests {
    func metrics(_ client: some TestClientProtocol) async throws -> [String: Double] {
        prometheusSamples(try await client.execute(uri: "/metrics", method: .get).text)
    }

    func pass(_ client: some TestClientProtocol) async throws -> Int {
        Int(try await client.execute(uri: "/functions/v1/stranger-matchmaker", method: .post).status.code)
    }

    @Test func everyMatchmakerMetricCountsWhatHappened() async throws {
        let harness = AppHarness()
        let backend = harness.pass.backend
        try await harness.app.test(.router) { client in
            // 1, degraded (nobody in the lobby): alice and bob paired (bob told on the second attempt), alice's
            // second message a duplicate, one malformed message, "old" past QUEUE_TTL told and removed.
            try harness.pass.enqueue("alice", age: 3)
            try harness.pass.enqueue("bob", age: 2)
            try harness.pass.enqueue("alice", age: 1)
            _ = try backend.pgmq.send(backend.queueName, message: ["user": "x"])
            try harness.pass.enqueue("old", age: 75)
            backend.faults.script(.notify(user: "bob"), [.error, .ok])
            #expect(try await pass(client) == 200)
            var samples = try await metrics(client)
            #expect(samples["matchmaker_queue_leased_messages"] == 5)
            #expect(samples["matchmaker_oldest_wait_seconds"] == 75)

            // 2, with a lobby: "h" waited past BOT_FILL_AFTER and takes the waiting bot; "gone" left the lobby.
            backend.store.addBot("bot-1")
            backend.presence.set(.available(["h": [["status": "waiting"]], "bot-1": [["user_id": "bot-1", "status": "waiting"]]]))
            try harness.pass.enqueue("h", age: 10)
            try harness.pass.enqueue("bot-1", age: 10)
            try harness.pass.enqueue("gone", age: 40)
            #expect(try await pass(client) == 200)

            // 3: u2 is never told, so the pair is undone and u1 told `stranger_skipped`.
            backend.presence.set(.available(["u1": [["status": "waiting"]], "u2": [["status": "waiting"]]]))
            try harness.pass.enqueue("u1")
            try harness.pass.enqueue("u2")
            backend.faults.script(.notify(user: "u2"), [.error])
            #expect(try await pass(client) == 200)

            // 4: the queue cannot be read.
            backend.faults.script(.read, [.error])
            #expect(try await pass(client) == 500)

            samples = try await metrics(client)
            let expected: [String: Double] = [
                #"matchmaker_passes_total{outcome="ok"}"#: 3,
                #"matchmaker_passes_total{outcome="failed"}"#: 1,
                "matchmaker_degraded_passes_total": 1,
                #"matchmaker_pairs_total{kind="humans"}"#: 1,
                #"matchmaker_pairs_total{kind="bot_fill"}"#: 1,
                "matchmaker_pairs_undone_total": 1,
                #"matchmaker_drops_total{reason="stale"}"#: 1,
                #"matchmaker_drops_total{reason="expired"}"#: 1,
                #"matchmaker_drops_total{reason="malformed"}"#: 1,
                #"matchmaker_drops_total{reason="duplicate"}"#: 1,
                #"matchmaker_notifications_total{outcome="delivered"}"#: 7,
                #"matchmaker_notifications_total{outcome="failed"}"#: 1,
                "matchmaker_notification_failed_attempts_total": 5,
                "matchmaker_pass_seconds_count": 3,
                "matchmaker_queue_leased_messages": 2,
                "matchmaker_oldest_wait_seconds": 0,
            ]
            expectSamples(samples, expected)
        }
    }

    @Test func everyRealtimeMetricReachesTheEndpoint() async throws {
        let harness = AppHarness()
        let monitor = RealtimeMonitor(factory: harness.exporter.factory)
        monitor.connecting(socket: 1, reconnect: false)
        monitor.opened(socket: 1)
        monitor.succeeded(after: .milliseconds(20))
        monitor.connecting(socket: 2, reconnect: false)
        monitor.failed(RealtimeError(.joinRefused, reason: "ChannelRateLimitReached"), at: Date(timeIntervalSince1970: 0))
        // A status no pattern names is counted under `other`, so the label stays bounded.
        monitor.failed(RealtimeError(.handshakeRefused, reason: "teapot", status: 418), at: Date(timeIntervalSince1970: 0))
        monitor.connecting(socket: 2, reconnect: true)
        monitor.opened(socket: 2)
        monitor.closed(socket: 1, wasOpen: true)
        try await harness.app.test(.router) { client in
            let samples = try await metrics(client)
            let expected: [String: Double] = [
                "matchmaker_realtime_connect_attempts_total": 3,
                "matchmaker_realtime_failed_connections_total": 2,
                "matchmaker_realtime_reconnect_attempts_total": 1,
                "matchmaker_realtime_active_connections": 1,
                "matchmaker_realtime_response_seconds_count": 1,
                "matchmaker_realtime_response_seconds_sum": 0.02,
                #"matchmaker_realtime_errors_total{pattern="ChannelRateLimitReached"}"#: 1,
                #"matchmaker_realtime_errors_total{pattern="other"}"#: 1,
            ]
            expectSamples(samples, expected)
            #expect(samples[#"matchmaker_realtime_errors_total{pattern="HTTP 418"}"#] == nil)
        }
    }

    @Test func everyRequestIsCountedAndTimedByMethodMatchedRouteAndStatus() async throws {
        let harness = AppHarness()
        try await harness.app.test(.router) { client in
            for _ in 0..<2 { _ = try await client.execute(uri: "/healthz", method: .get) }
            #expect(try await pass(client) == 200)
            #expect(try await client.execute(uri: "/no/such/route", method: .get).status == .notFound)
            #expect(try await client.execute(uri: "/healthz", method: .init("BREW")!).status == .notFound)
            #expect(try await client.execute(uri: "/rest/v1/room?id=eq.x", method: .get).status == .ok)
            let samples = try await metrics(client)
            let expected: [String: Double] = [
                #"matchmaker_http_requests_total{method="GET",route="/healthz",status="200"}"#: 2,
                #"matchmaker_http_requests_total{method="POST",route="/functions/v1/stranger-matchmaker",status="200"}"#: 1,
                #"matchmaker_http_requests_total{method="GET",route="unmatched",status="404"}"#: 1,
                #"matchmaker_http_requests_total{method="other",route="unmatched",status="404"}"#: 1,
                #"matchmaker_http_requests_total{method="GET",route="/rest/v1/{table}",status="200"}"#: 1,
                #"matchmaker_http_request_duration_seconds_count{method="GET",route="/healthz"}"#: 2,
                #"matchmaker_http_request_duration_seconds_count{method="GET",route="unmatched"}"#: 1,
            ]
            expectSamples(samples, expected)
            #expect(!samples.keys.contains { $0.contains("/no/such/route") || $0.contains("BREW") }, "labels stay bounded")
            #expect(!samples.keys.contains { $0.hasPrefix("matchmaker_http_requests_total{method=\"GET\",route=\"/metrics\"") })
            let again = try await metrics(client)
            #expect(again[#"matchmaker_http_requests_total{method="GET",route="/metrics",status="200"}"#] == 1, "the scrape before")
        }
    }

    @Test func queueOutboxAndBotGaugesShowTheLastStatus() async throws {
        let harness = AppHarness()
        let backend = harness.pass.backend
        try harness.pass.enqueue("alice", age: 30)
        try harness.pass.enqueue("bob", age: 12.5)
        // A match committed and never acknowledged: one pending outbox row.
        try harness.pass.enqueue("carol", age: 3)
        try harness.pass.enqueue("dave", age: 3)
        let leased = try backend.pgmq.read(backend.queueName, visibilityTimeout: 30, count: 10)
        let pair = leased.filter { ["carol", "dave"].contains($0.message["userId"]?.stringValue ?? "") }.map(\.msgID)
        _ = try backend.store.commitStrangerMatch(
            queue: backend.queueName, roomID: "room-1", user1: "carol", user2: "dave", msgIDs: pair)
        let parts = harness.parts
        let status = await parts.status(logger: testLogger)
        #expect(status.queue == QueueLevels(depth: 2, oldestAgeSeconds: 30))
        #expect(status.outboxBacklog == 1)
        #expect(status.bots == nil && status.pool == nil, "no bots and no Realtime client here")
        parts.gauges.record(status)
        var bots = BotManager.Stats()
        (bots.target, bots.totalBots, bots.waiting, bots.inConversation) = (4, 3, 2, 1)
        parts.gauges.record(bots: bots)
        let samples = prometheusSamples(String(decoding: harness.exporter.render(), as: UTF8.self))
        let expected: [String: Double] = [
            "matchmaker_queue_depth_messages": 2,
            "matchmaker_queue_oldest_message_age_seconds": 30,
            "matchmaker_outbox_backlog_rows": 1,
            "matchmaker_bots_target": 4,
            "matchmaker_bots_running": 3,
            "matchmaker_bots_waiting": 2,
            "matchmaker_bots_in_room": 1,
        ]
        expectSamples(samples, expected)
    }

    @Test func aPartThatCannotBeReadLeavesItsGaugeAbsent() async throws {
        let exporter = PrometheusExporter()
        let gauges = OpsGauges(factory: exporter.factory)
        struct Unreachable: Error {}
        let status = await OpsStatus.read(
            client: nil, bots: nil, queueLevels: nil, outboxBacklog: { throw Unreachable() }, logger: testLogger)
        #expect(status == OpsStatus())
        gauges.record(status)
        let text = String(decoding: exporter.render(), as: UTF8.self)
        #expect(!text.contains("matchmaker_queue_depth_messages"))
        #expect(!text.contains("matchmaker_outbox_backlog_rows"))
        #expect(!text.contains("matchmaker_bots_"))
    }

    /// A part read once and then not (the database went away) takes its gauge with it: no stale value for alerts.
    @Test func aPartThatStopsBeingReadableTakesItsGaugeAway() async throws {
        let exporter = PrometheusExporter()
        let gauges = OpsGauges(factory: exporter.factory)
        var status = OpsStatus()
        status.outboxBacklog = 4
        gauges.record(status)
        #expect(String(decoding: exporter.render(), as: UTF8.self).contains("matchmaker_outbox_backlog_rows 4"))
        struct Unreachable: Error {}
        let failed = await OpsStatus.read(
            client: nil, bots: nil, queueLevels: nil, outboxBacklog: { throw Unreachable() }, logger: testLogger)
        gauges.record(failed)
        #expect(!String(decoding: exporter.render(), as: UTF8.self).contains("matchmaker_outbox_backlog_rows"))
        gauges.record(status)
        #expect(String(decoding: exporter.render(), as: UTF8.self).contains("matchmaker_outbox_backlog_rows 4"), "and back once readable")
    }
}
