import EmbeddedSupabase
import Foundation
import Logging
import MatchmakerCore
import Shared
import TestSupport
import Testing

/// The client against a hub that misbehaves on purpose.
@Suite(.timeLimit(.minutes(1))) struct FaultTests {
    @Test func unauthorizedIsTriedExactlyOnceAndTheChannelIsRemoved() async throws {
        try await withLiveServer { port, backend in
            backend.hub.faults.refuseJoins("Unauthorized: You do not have permissions to read from this Channel topic: secret")
            try await withClient(port: port, version: .v2, configure: { $0.channelBackoff = .channel }) { client in
                let channel = await client.channel("secret")
                let error = await #expect(throws: RealtimeError.self) { try await channel.subscribe() }
                #expect(error?.kind == .gaveUp)
                #expect(error?.failureClass.isRetryable == false)
                #expect(error?.reason.contains("Unauthorized") == true)
                #expect(backend.hub.joinsReceived == 1)
                #expect(client.stats().channels == 0)
                #expect(client.monitor.snapshot.errorPatterns["UNAUTHORIZED"] == 1)
                #expect(await channel.events.next { $0.isClosed } != nil)
            }
        }
    }

    @Test func channelRateLimitsAreRetriedWithJitteredSeedBackoff() async throws {
        try await withLiveServer { port, backend in
            backend.hub.faults.refuseJoins("ChannelRateLimitReached: Too many channels")
            let time = ManualTime()
            let units = ScriptedUnits([0, 0.5, 0.9])
            try await withClient(
                port: port, version: .v2, time: time.timekeeper, unit: { units.next() },
                configure: {
                    $0.channelBackoff = Backoff(maxRetries: 3, baseDelay: .seconds(2), maxDelay: .seconds(30))
                    $0.heartbeatInterval = .seconds(1000)
                }
            ) { client in
                let channel = await client.channel("busy")
                try await withThrowingTaskGroup(of: RealtimeError?.self) { group in
                    group.addTask { try await channel.subscriptionError() }
                    var backoffs: [Duration] = []
                    for await sleep in time.sleeps where sleep != .seconds(8) && sleep != .seconds(1000) {
                        backoffs.append(sleep)
                        time.advance(by: sleep)
                        if backoffs.count == 3 { break }
                    }
                    let error = try await group.next()!
                    #expect(backoffs.map(\.seconds) == [2.0, 4.6, 8 + 8 * 0.3 * 0.9].map { ($0 * 1e9).rounded() / 1e9 })
                    #expect(error?.kind == .gaveUp)
                    #expect(error?.reason.contains("retries exhausted after 4 attempt(s)") == true)
                    #expect(error?.reason.contains("ChannelRateLimitReached") == true)
                }
                #expect(backend.hub.joinsReceived == 4)
                #expect(client.stats().channels == 0)
                #expect(client.monitor.snapshot.errorPatterns["ChannelRateLimitReached"] == 4)
            }
        }
    }

    @Test func aJoinNeverAnsweredTimesOutAtEightSecondsOnTheTestClockWithoutLeakingTheChannel() async throws {
        try await withLiveServer { port, backend in
            backend.hub.faults.ignoreJoins(true)
            let time = ManualTime()
            let started = time.now
            let observations = backend.hub.observe()
            try await withClient(
                port: port, version: .v1, time: time.timekeeper,
                configure: {
                    $0.channelBackoff = Backoff(maxRetries: 0, baseDelay: .seconds(2), maxDelay: .seconds(30))
                    $0.heartbeatInterval = .seconds(1000)
                }
            ) { client in
                let channel = await client.channel("silent")
                try await withThrowingTaskGroup(of: RealtimeError?.self) { group in
                    group.addTask { try await channel.subscriptionError() }
                    for await observation in observations {
                        if case .joinReceived = observation { break }
                    }
                    for await sleep in time.sleeps where sleep == .seconds(8) { break }
                    time.advance(by: .seconds(8))
                    let error = try await group.next()!
                    #expect(error?.kind == .gaveUp)
                    #expect(error?.reason.contains("timed_out") == true)
                }
                #expect(time.now.timeIntervalSince(started) == 8)
                #expect(client.stats().channels == 0)
                #expect(client.stats().joinsInFlight == 0)
                #expect(client.monitor.snapshot.errorPatterns["timed_out"] == 1)
            }
        }
    }

    /// The reconnect schedule on the test clock: after the hub drops every socket, each socket waits its own
    /// jittered first delay (base × (1 + 0.3 × unit)) and reconnects then, not before; its channels rejoin.
    @Test func droppedSocketsReconnectEachAfterItsOwnJitteredDelay() async throws {
        try await withLiveServer { port, backend in
            let time = ManualTime()
            let units = ScriptedUnits([0, 0.5, 1])
            try await withClient(
                port: port, version: .v2, time: time.timekeeper, unit: { units.next() },
                configure: {
                    $0.reconnectBackoff = Backoff(maxRetries: 5, baseDelay: .milliseconds(200), maxDelay: .seconds(5))
                    $0.heartbeatInterval = .seconds(1000)
                    $0.maxChannelsPerConnection = 1
                    $0.joinsPerSecond = 10_000
                    $0.joinWindowMargin = .zero
                }
            ) { client in
                // The join gate spaces joins by 0.1 ms on the test clock: those waits are let through at once; the
                // longer sleeps (reconnect delays) come to the test.
                let (longSleeps, forward) = AsyncStream.makeStream(of: Duration.self)
                let driver = Task {
                    for await sleep in time.sleeps {
                        if sleep < .milliseconds(1) { time.advance(by: sleep) } else { forward.yield(sleep) }
                    }
                }
                defer { driver.cancel() }
                var channels: [RealtimeChannel] = []
                for name in ["one", "two", "three"] {
                    let channel = await client.channel(name)
                    try await channel.subscribe()
                    channels.append(channel)
                }
                #expect(client.stats().sockets == 3)
                let observations = backend.hub.observe()
                let dropped = time.now
                backend.hub.dropAllConnections()
                var delays: [Double] = []
                for await sleep in longSleeps where sleep < .seconds(1) {
                    delays.append(sleep.seconds)
                    if delays.count == 3 { break }
                }
                delays.sort()
                #expect(zip(delays, [0.2, 0.23, 0.26]).allSatisfy { abs($0 - $1) < 1e-9 }, "delays \(delays)")
                #expect(backend.hub.connectionCount == 0, "nobody reconnects before its delay")
                var connected = observations.makeAsyncIterator()
                var elapsed = 0.0
                for (index, delay) in delays.enumerated() {
                    // A microsecond past each deadline: the clock's arithmetic need not land on it exactly.
                    time.advance(by: .seconds(double: delay - elapsed + 1e-6))
                    elapsed = delay + 1e-6
                    while let observation = await connected.next() {
                        if case .connected = observation { break }
                    }
                    #expect(backend.hub.connectionCount == index + 1)
                }
                // The last socket is back 0.26 s after the drop; rejoins of the earlier ones may have let the clock
                // through a join-gate step or two (0.1 ms each) meanwhile.
                let back = time.now.timeIntervalSince(dropped)
                #expect(back >= 0.26 && back < 0.2605, "back after \(back) s")
                for channel in channels { try await eventually { channel.isJoined } }
                #expect(client.monitor.snapshot.reconnectAttempts == 3)
            }
        }
    }

    @Test func aLatePresenceStateMakesThePassDegradedAndDropsNobody() async throws {
        let backend = EmbeddedBackend()
        try await withLiveServer(backend: backend) { port, backend in
            backend.hub.faults.holdPresenceState(true)
            let now = Date()
            try backend.store.addUsers(["a", "b", "c"])
            for user in ["a", "b", "c"] {
                _ = try backend.pgmq.insert(backend.queueName, message: ["userId": .string(user)], enqueuedAt: now.addingTimeInterval(-40))
            }
            let time = ManualTime()
            let observations = backend.hub.observe()
            try await withClient(port: port, version: .v2, time: time.timekeeper, configure: { $0.heartbeatInterval = .seconds(1000) }) {
                client in
                var ports = backend.ports
                ports.presence = RealtimePresenceSource(client: client, time: time.timekeeper)
                let pass = MatchPass(ports: ports, settings: MatchPass.Settings(), logger: testLogger)
                try await withThrowingTaskGroup(of: PassReport.self) { group in
                    group.addTask { try await pass.run() }
                    for await observation in observations {
                        if case .joinReceived = observation { break }
                    }
                    for await sleep in time.sleeps where sleep == .seconds(8) { break }
                    time.advance(by: .seconds(8))
                    let report = try await group.next()!
                    #expect(report.degraded)
                    #expect(report.presenceError?.contains("timed") == true)
                    #expect(report.pairedRooms == 1)
                    #expect(report.stale == 0)
                }
                #expect(backend.pgmq.rows(backend.queueName).count == 1)
            }
        }
    }
}
