import EmbeddedSupabase
import Foundation
import MatchmakerCore
import ServiceLifecycle
import Shared
import Synchronization
import TestSupport
import Testing

/// The matchmaker's presence port over the Realtime client (contract §2).
@Suite(.timeLimit(.minutes(1))) struct PresenceSourceTests {
    @Test(arguments: [true, false])
    func theSnapshotComesFromPresenceStateAndNeverTracksItself(keepJoined: Bool) async throws {
        try await withLiveServer { port, backend in
            try await withClient(port: port, version: .v2) { human in
                let own = await human.channel("global:lobby", options: ChannelOptions(presenceKey: "u1", presenceEnabled: true))
                try await own.subscribe()
                try await own.track(["status": "waiting"])
                try await withClient(port: port, version: .v2) { matcher in
                    let source = RealtimePresenceSource(client: matcher, keepJoined: keepJoined)
                    let snapshot = await source.snapshot()
                    #expect(snapshot.isWaiting("u1"))
                    guard case .available(let state) = snapshot else {
                        Issue.record("presence unavailable: \(snapshot)")
                        return
                    }
                    #expect(state.keys.sorted() == ["u1"])
                    #expect(matcher.stats().channels == (keepJoined ? 1 : 0))
                    // A kept lobby answers the next pass from presence_diff, without another join.
                    let joins = backend.hub.joinsReceived
                    _ = await source.snapshot()
                    #expect(backend.hub.joinsReceived == joins + (keepJoined ? 0 : 1))
                }
            }
        }
    }

    @Test func aRefusedLobbyJoinIsUnavailableWithItsCause() async throws {
        try await withLiveServer { port, backend in
            backend.hub.faults.refuseJoins("Unauthorized: You do not have permissions to read from this Channel topic: global:lobby")
            try await withClient(port: port, version: .v1) { client in
                let snapshot = await RealtimePresenceSource(client: client).snapshot()
                guard case .unavailable(let reason) = snapshot else {
                    Issue.record("expected unavailable")
                    return
                }
                #expect(reason.contains("Unauthorized"))
                #expect(client.stats().channels == 0)
            }
        }
    }

    /// The lobby watch (`serve`'s event source on the Supabase backend) signals when a meta with `status: "waiting"`
    /// joins the lobby, and not for other statuses.
    @Test func theLobbyWatchSignalsWhenSomeoneStartsWaiting() async throws {
        try await withLiveServer { port, _ in
            try await withClient(port: port, version: .v2) { matcher in
                let signals = Mutex(0)
                let (waits, announce) = AsyncStream.makeStream(of: Void.self)
                let watch = LobbyWatch(client: matcher, logger: testLogger) {
                    signals.withLock { $0 += 1 }
                    announce.yield()
                }
                let group = ServiceGroup(services: [watch], logger: testLogger)
                try await withThrowingTaskGroup(of: Void.self) { tasks in
                    tasks.addTask { try await group.run() }
                    let lobby = await matcher.channel(
                        RealtimePresenceSource.lobby, options: ChannelOptions(presenceEnabled: true), stateOnly: true)
                    try await eventually { lobby.isSynced }
                    try await withClient(port: port, version: .v2) { human in
                        let own = await human.channel("global:lobby", options: ChannelOptions(presenceKey: "u1", presenceEnabled: true))
                        try await own.subscribe()
                        try await own.track(["status": "idle"])
                        try await eventually { lobby.presence.entries["u1"] != nil }
                        #expect(signals.withLock { $0 } == 0, "idle is not matchable")
                        try await own.track(["status": "waiting"])
                        var iterator = waits.makeAsyncIterator()
                        _ = await iterator.next()
                        #expect(signals.withLock { $0 } == 1)
                    }
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                }
            }
        }
    }
}
