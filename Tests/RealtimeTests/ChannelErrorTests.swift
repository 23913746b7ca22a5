import EmbeddedSupabase
import Foundation
import MatchmakerCore
import Metrics
import MetricsTestKit
import Shared
import TestSupport
import Testing

/// Channel-level errors reach the caller as typed events with their cause.
@Suite(.timeLimit(.minutes(1))) struct ChannelErrorTests {
    @Test(arguments: ProtocolVersion.allCases)
    func aCrashedChannelReportsPhxErrorAndRejoins(version: ProtocolVersion) async throws {
        try await withLiveServer { port, backend in
            try await withClient(port: port, version: version) { client in
                let channel = await client.channel("room:crash")
                try await channel.subscribe()
                backend.hub.crashChannel(name: "room:crash")
                let error = await channel.events.next { $0.isError }
                guard case .error(let cause)? = error else {
                    Issue.record("no error event")
                    return
                }
                #expect(cause.kind == .channelError)
                #expect(cause.reason.contains("phx_error"))
                #expect(await channel.events.next { $0.isSubscribed } != nil)
                #expect(backend.hub.joinsReceived == 2)
            }
        }
    }

    @Test func aSystemErrorThenCloseEndsTheChannelWithItsCause() async throws {
        try await withLiveServer { port, _ in
            // The client's own budget is lifted so that the hub's limit is the one that trips.
            try await withClient(port: port, version: .v2, configure: { $0.presenceBudget = PresenceBudget(limit: 100) }) { client in
                let channel = await client.channel("room:chatty", options: ChannelOptions(presenceKey: "me", presenceEnabled: true))
                try await channel.subscribe()
                for index in 0..<5 { try await channel.track(["n": .number(JSONNumber(index))]) }
                await #expect(throws: RealtimeError.self) { try await channel.track(["n": 5]) }
                let system = await channel.events.next { $0.isError }
                #expect(
                    system == .error(RealtimeError(.system, reason: "Client presence rate limit exceeded", payload: Self.systemPayload)))
                let closed = await channel.events.next { $0.isClosed }
                guard case .closed(let cause?)? = closed else {
                    Issue.record("no close with a cause")
                    return
                }
                #expect(cause.kind == .system)
                #expect(cause.reason == "Client presence rate limit exceeded")
                #expect(client.stats().channels == 0)
            }
        }
    }

    @Test func theClientWaitsForItsPresenceBudgetInsteadOfTrippingTheServer() async throws {
        // The hub's own limit runs on real time; lift it so that only the client's budget is in play.
        var settings = RealtimeHub.Settings()
        settings.presenceBudget = PresenceBudget(limit: 100)
        try await withLiveServer(backend: EmbeddedBackend(hub: RealtimeHub(settings: settings))) { port, backend in
            let time = ManualTime()
            try await withClient(port: port, version: .v2, time: time.timekeeper, configure: { $0.heartbeatInterval = .seconds(1000) }) {
                client in
                let channel = await client.channel("room:budget", options: ChannelOptions(presenceKey: "me", presenceEnabled: true))
                try await channel.subscribe()
                for index in 0..<5 { try await channel.track(["n": .number(JSONNumber(index))]) }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await channel.track(["n": 5]) }
                    for await sleep in time.sleeps where sleep == .seconds(30) { break }
                    #expect(backend.hub.presence(of: "room:budget")["me"]?.first?["n"] == 4)
                    time.advance(by: .seconds(30))
                    try await group.next()
                }
                #expect(channel.isJoined)
                #expect(backend.hub.presence(of: "room:budget")["me"]?.first?["n"] == 5)
            }
        }
    }

    @Test func anIdleSocketIsClosedByTheHubWhenTheIdleTimeoutRunsOutOnItsClock() async throws {
        var settings = RealtimeHub.Settings()
        settings.idleTimeout = .seconds(60)
        let time = ManualTime()
        let backend = EmbeddedBackend(time: time.timekeeper, hub: RealtimeHub(settings: settings))
        try await withLiveServer(backend: backend) { port, backend in
            try await withRawSocket(port: port, version: .v2) { socket in
                var sleeps = time.sleeps.makeAsyncIterator()
                #expect(await sleeps.next() == .seconds(60), "the hub waits out the whole timeout on a silent socket")
                time.advance(by: .milliseconds(59_999))
                #expect(backend.hub.connectionCount == 1, "still open 1 ms before the timeout")
                time.advance(by: .milliseconds(1))
                // The hub sends nothing on a silent socket: the next thing the client sees is the end of the stream.
                await #expect(throws: RealtimeError(.socketClosed, reason: "closed")) { _ = try await socket.next() }
                try await eventually { backend.hub.connectionCount == 0 }
            }
        }
    }

    @Test func theMonitorRecordsConnectsFailuresAndPatternsAsMetrics() async throws {
        let metrics = TestMetrics()
        let monitor = RealtimeMonitor(factory: metrics)
        monitor.connecting(socket: 1, reconnect: false)
        monitor.opened(socket: 1)
        monitor.succeeded(after: .milliseconds(4))
        monitor.succeeded(after: .milliseconds(6))
        monitor.failed(RealtimeError(.joinRefused, reason: "Unauthorized: no"), at: Date(timeIntervalSince1970: 0))
        monitor.closed(socket: 1, wasOpen: true)
        monitor.connecting(socket: 1, reconnect: true)
        let snapshot = monitor.snapshot
        #expect(snapshot.totalConnections == 2)
        #expect(snapshot.reconnectAttempts == 1)
        #expect(snapshot.activeConnections == 0)
        #expect(snapshot.failedConnections == 1)
        #expect(snapshot.averageResponseTimeMs == 5)
        #expect(snapshot.errorPatterns == ["UNAUTHORIZED": 1])
        #expect(snapshot.lastError == "join_refused: Unauthorized: no")
        #expect(snapshot.connections == ["1": "reconnecting"])
        #expect(try metrics.expectCounter("matchmaker_realtime_reconnect_attempts_total").totalValue == 1)
        #expect(try metrics.expectCounter("matchmaker_realtime_errors_total", [("pattern", "UNAUTHORIZED")]).totalValue == 1)
        #expect(try metrics.expectTimer("matchmaker_realtime_response_seconds").values.count == 2)
    }

    static let systemPayload: JSONValue = [
        "extension": "system", "status": "error", "message": "Client presence rate limit exceeded", "channel": "room:chatty",
    ]
}
