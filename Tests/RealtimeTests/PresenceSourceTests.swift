import EmbeddedSupabase
import Foundation
import MatchmakerCore
import Shared
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
}
