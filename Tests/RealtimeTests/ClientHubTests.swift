import EmbeddedSupabase
import Foundation
import MatchmakerCore
import Shared
import TestSupport
import Testing

/// Our client against the embedded hub over real sockets, both protocol versions.
@Suite(.timeLimit(.minutes(1))) struct ClientHubTests {
    @Test(arguments: ProtocolVersion.allCases)
    func joinSyncsPresenceAndDiffsFollowTrackLeaveAndDisconnect(version: ProtocolVersion) async throws {
        try await withLiveServer { port, backend in
            try await withClient(port: port, version: version) { watcher in
                let lobby = await watcher.channel("global:lobby", options: ChannelOptions(presenceEnabled: true))
                try await lobby.subscribe()
                #expect(lobby.isSynced)
                #expect(lobby.presence.keys.isEmpty)
                #expect(backend.hub.lobbySnapshot() == [:])

                // A second client tracks, then disconnects without leaving.
                try await withClient(port: port, version: version) { human in
                    let own = await human.channel("global:lobby", options: ChannelOptions(presenceKey: "u1", presenceEnabled: true))
                    try await own.subscribe()
                    try await own.track(["status": "waiting"])
                    let joined = await lobby.events.next { $0.isPresence && lobby.presence.keys == ["u1"] }
                    #expect(joined != nil)
                    #expect(lobby.presence.entries["u1"]?.first?["status"] == "waiting")
                    #expect(lobby.presence.entries["u1"]?.first?["phx_ref"] != nil)
                    #expect(await backend.presence.snapshot().isWaiting("u1"))
                    try await own.untrack()
                    _ = await lobby.events.next { $0.isPresence && lobby.presence.keys == [] }
                    try await own.track(["status": "idle"])
                    _ = await lobby.events.next { $0.isPresence && lobby.presence.keys == ["u1"] }
                }
                let left = await lobby.events.next { $0.isPresence && lobby.presence.keys == [] }
                #expect(left != nil)
            }
        }
    }

    /// The matchmaker's lobby is read for its state only; before `stateOnly` its diffs piled up unread forever.
    @Test func aStateOnlyChannelKeepsPresenceCurrentWithoutABacklog() async throws {
        try await withLiveServer { port, _ in
            try await withClient(port: port, version: .v2) { client in
                let lobby = ChannelOptions(presenceEnabled: true)
                let watched = await client.channel("global:lobby", options: lobby, stateOnly: true)
                let buffered = await client.channel("global:lobby", options: lobby, exclusive: true)
                try await watched.subscribe()
                try await buffered.subscribe()
                try await withClient(port: port, version: .v1) { human in
                    let own = await human.channel("global:lobby", options: ChannelOptions(presenceKey: "u1", presenceEnabled: true))
                    try await own.subscribe()
                    for status in ["idle", "waiting", "matched"] { try await own.track(["status": .string(status)]) }
                    try await eventually { watched.presence.entries["u1"]?.first?["status"] == "matched" }
                }
                try await eventually { watched.presence.keys.isEmpty && buffered.presence.keys.isEmpty }
                await watched.unsubscribe()
                await buffered.unsubscribe()
                var kept = 0
                for await _ in watched.events { kept += 1 }
                var backlog = 0
                for await _ in buffered.events { backlog += 1 }
                #expect(kept == 0)
                #expect(backlog >= 6, "subscribed, presence_state, three diffs of u1 and its leave, closed: \(backlog)")
            }
        }
    }

    @Test(arguments: ProtocolVersion.allCases)
    func broadcastsHonourSelfAndAck(version: ProtocolVersion) async throws {
        try await withLiveServer { port, _ in
            try await withClient(port: port, version: version) { client in
                let loud = await client.channel("room:1", options: ChannelOptions(broadcastAck: true, broadcastSelf: true))
                try await loud.subscribe()
                try await loud.broadcast(event: "message", payload: ["content": "hi"])
                let echo = await loud.events.next { $0.broadcastEvent != nil }
                #expect(echo == .broadcast(event: "message", payload: ["content": "hi"], meta: nil))

                try await withClient(port: port, version: .v2) { other in
                    let quiet = await other.channel("room:1")
                    try await quiet.subscribe()
                    try await quiet.broadcast(event: "typing", payload: ["senderId": "b"])
                    let received = await loud.events.next { $0.broadcastEvent == "typing" }
                    #expect(received == .broadcast(event: "typing", payload: ["senderId": "b"], meta: nil))
                    try await quiet.broadcast(event: "second", payload: [:])
                    _ = await loud.events.next { $0.broadcastEvent == "second" }
                }
            }
        }
    }

    @Test(arguments: ProtocolVersion.allCases)
    func reconnectsAfterTheHubDropsTheSocketAndRejoinsEveryChannel(version: ProtocolVersion) async throws {
        try await withLiveServer { port, backend in
            try await withClient(port: port, version: version) { client in
                var channels: [RealtimeChannel] = []
                for index in 0..<3 {
                    let channel = await client.channel("room:\(index)", options: ChannelOptions(presenceEnabled: index == 0))
                    try await channel.subscribe()
                    channels.append(channel)
                }
                backend.hub.dropAllConnections()
                for channel in channels {
                    let error = await channel.events.next { $0.isError }
                    guard case .error(let cause)? = error else {
                        Issue.record("no error event")
                        return
                    }
                    #expect(cause.kind == .socketClosed)
                    #expect(!cause.reason.isEmpty)
                    #expect(await channel.events.next { $0.isSubscribed } != nil)
                }
                _ = await channels[0].events.next { $0.isPresenceSync }
                let allJoined = channels.allSatisfy { $0.isJoined }
                #expect(allJoined)
                #expect(client.monitor.snapshot.reconnectAttempts >= 1)
                #expect(client.stats().sockets == 1)
            }
        }
    }

    @Test func heartbeatsAreAnsweredAndAnUnansweredOneReconnects() async throws {
        try await withLiveServer { port, backend in
            // 500 ms, not less: on a loaded 2-core machine a 100 ms round trip can miss its tick and reconnect early.
            try await withClient(port: port, version: .v2, configure: { $0.heartbeatInterval = .milliseconds(500) }) { client in
                let observations = backend.hub.observe()
                let channel = await client.channel("room:hb")
                try await channel.subscribe()
                var heartbeats = 0
                for await observation in observations {
                    if case .heartbeatReceived = observation { heartbeats += 1 }
                    if heartbeats == 3 { break }
                }
                #expect(channel.isJoined)
                backend.hub.faults.ignoreHeartbeats(true)
                let error = await channel.events.next { $0.isError }
                #expect(error == .error(RealtimeError(.heartbeatTimeout, reason: "heartbeat \(Self.ref(of: error)) unanswered")))
                backend.hub.faults.ignoreHeartbeats(false)
                #expect(await channel.events.next { $0.isSubscribed } != nil)
                #expect(client.monitor.snapshot.reconnectAttempts >= 1)
            }
        }
    }

    @Test func thePoolPutsAtMostTenChannelsOnASocket() async throws {
        try await withLiveServer { port, backend in
            try await withClient(port: port, version: .v2) { client in
                var channels: [RealtimeChannel] = []
                for index in 0..<25 { channels.append(await client.channel("bot:\(index)")) }
                try await withThrowingDiscardingTaskGroup { group in
                    for channel in channels { group.addTask { try await channel.subscribe() } }
                }
                let stats = client.stats()
                #expect(stats.sockets == 3)
                #expect(stats.channelsPerSocket == [10, 10, 5])
                #expect(stats.joinsInFlight == 0)
                #expect(backend.hub.connectionCount == 3)
                #expect(await client.channel("bot:3") === channels[3])
                await channels[24].unsubscribe()
                #expect(client.stats().channels == 24)
            }
        }
    }

    @Test func theHubAnswersUnmatchedTopicsAndStaleJoinRefsAreIgnored() async throws {
        try await withLiveServer { port, backend in
            try await withClient(port: port, version: .v1) { client in
                let channel = await client.channel("room:x", options: ChannelOptions(broadcastAck: true))
                try await channel.subscribe()
                await channel.unsubscribe()
                await #expect(throws: RealtimeError.self) { try await channel.broadcast(event: "e", payload: [:]) }
                #expect(backend.hub.joinsReceived == 1)
            }
        }
    }

    private static func ref(of event: ChannelEvent?) -> String {
        guard case .error(let error)? = event else { return "" }
        return error.reason.split(separator: " ").dropFirst().first.map(String.init) ?? ""
    }
}
