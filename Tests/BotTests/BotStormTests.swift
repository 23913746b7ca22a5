import EmbeddedSupabase
import Foundation
import MatchmakerCore
import Shared
import TestSupport
import Testing

/// Many bots against a hub that limits, refuses or drops them: the pool must never storm it.
extension LiveBotTests {
    @Suite(.timeLimit(.minutes(3))) struct BotStormTests {
        @Test func manyBotsNeverJoinFasterThanTheLimit() async throws {
            // 201 joins at 100/s take 2 s; a machine saturated by other work (builds beside the suite) has taken
            // 76 s to get 200 bots through their rows and joins, so the watchdog allows 150.
            try await withWatchdog(.seconds(150)) {
                let bots = 200
                let limit = 100
                try await withMatchmaker { port, backend in
                    let observations = backend.hub.observe()
                    // A bot whose user row a saturated machine could not write in time is started again on the next
                    // tick, as in production; the storm is about joins, so every bot must get there.
                    let configure: (inout BotManager.Settings, inout RealtimeConfiguration) -> Void = { settings, realtime in
                        realtime.joinsPerSecond = limit
                        settings.interval = .seconds(5)
                    }
                    try await withBots(port: port, count: bots, configure: configure) { manager, _ in
                        var joins: [Date] = []
                        for await observation in observations {
                            if case .joinReceived(_, _, let at) = observation { joins.append(at) }
                            if joins.count == bots + 1 { break }
                        }
                        try await eventually(within: .seconds(60)) { manager.stats.waiting == bots }
                        let busiest = busiestSecond(joins)
                        let span = joins.last!.timeIntervalSince(joins.first!)
                        let stats = manager.client.stats()
                        let retries = backend.hub.joinsReceived - (bots + 1)
                        print(
                            "storm: \(joins.count) joins in \(String(format: "%.2f", span)) s, busiest second \(busiest), "
                                + "sockets \(stats.sockets), joins retried \(retries), busiest second sent \(stats.busiestJoinSecond)"
                        )
                        // The pool's own departures are the guarantee: never more than `limit` `phx_join` frames in any
                        // second of its clock (it records each frame as it leaves and holds the next one until the window
                        // allows it, so load can delay joins but never bunch them). The rate itself, on the test clock, is
                        // `JoinRateLimiterTests`; here no bound is put on real durations.
                        #expect(stats.busiestJoinSecond <= limit, "the pool sent \(stats.busiestJoinSecond) joins in one second")
                        #expect(stats.channelsPerSocket.allSatisfy { $0 <= 10 })
                        // One join per channel; a join whose reply a saturated machine delays past the connect timeout is
                        // retried through the same limiter, so retries never raise the rate (checked above). How many are
                        // retried depends on the machine's load, so it is reported, not bounded. Every join the hub saw
                        // went through the pool's limiter; a join admitted on a socket that died under load may never
                        // arrive, so the hub may count fewer, never more.
                        try await eventually(within: .seconds(30)) { manager.client.stats().joinsInFlight == 0 }
                        let admitted = manager.client.stats().joinsAdmitted
                        #expect(
                            backend.hub.joinsReceived <= admitted, "the hub saw \(backend.hub.joinsReceived) joins, \(admitted) admitted")
                    }
                }
            }
        }

        @Test func anUnauthorizedHubIsTriedExactlyOncePerBotAndReported() async throws {
            try await withWatchdog {
                let bots = 20
                try await withMatchmaker { port, backend in
                    backend.hub.faults.refuseJoins("Unauthorized: You do not have permissions to read from this Channel topic")
                    try await withBots(port: port, count: bots, configure: { _, realtime in realtime.channelBackoff = .channel }) {
                        manager, _ in
                        try await eventually { manager.stats.failedBots == bots }
                        let stats = manager.stats
                        #expect(stats.failedBots == bots)
                        #expect(stats.halted?.contains("Unauthorized") == true)
                        #expect(stats.totalBots == 0)
                        #expect(backend.hub.joinsReceived == bots + 1, "one join per bot, plus the manager's lobby observer")
                        #expect(manager.client.monitor.snapshot.errorPatterns["UNAUTHORIZED"] == bots + 1)
                        try await manager.tick()
                        #expect(backend.hub.joinsReceived == bots + 2, "a later tick starts no bot, only reads the lobby again")
                    }
                }
            }
        }

        @Test func everyBotIsBackAfterTheHubDropsEverySocketOnce() async throws {
            try await withWatchdog {
                let bots = 40
                try await withMatchmaker { port, backend in
                    try await withBots(port: port, count: bots) { manager, _ in
                        try await idleBots(backend, count: bots)
                        let observations = backend.hub.observe()
                        backend.hub.dropAllConnections()
                        // Every bot's `user:<id>` channel is joined again. When each socket comes back (its jittered
                        // delay) is `FaultTests.droppedSocketsReconnectEachAfterItsOwnJitteredDelay`, on the test clock.
                        var rejoined: Set<String> = []
                        for await observation in observations {
                            if case .joinReceived(let topic, _, _) = observation,
                                topic.hasPrefix("realtime:user:bot-") || topic.hasPrefix("user:bot-")
                            {
                                rejoined.insert(topic)
                            }
                            if rejoined.count == bots { break }
                        }
                        #expect(rejoined.count == bots)
                        #expect(manager.stats.totalBots == bots)
                        #expect(backend.store.idleBots(limit: .max).count == bots, "their leases and readiness outlive the sockets")
                    }
                }
            }
        }
    }
}

/// The most joins within any one-second window.
func busiestSecond(_ instants: [Date]) -> Int {
    var best = 0
    var start = 0
    for end in instants.indices {
        while instants[end].timeIntervalSince(instants[start]) >= 1 { start += 1 }
        best = max(best, end - start + 1)
    }
    return best
}
