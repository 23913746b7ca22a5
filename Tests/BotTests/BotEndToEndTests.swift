import EmbeddedSupabase
import Foundation
import MatchmakerCore
import Shared
import TestSupport
import Testing

/// Bots and simulated humans over real sockets against `serve`'s embedded backend.
extension LiveBotTests {
    @Suite(.timeLimit(.minutes(2))) struct BotEndToEndTests {
        @Test func aLoneHumanIsMatchedWithABotChatsAndTheBotRequeues() async throws {
            try await withWatchdog {
                try await withMatchmaker(botFillAfter: 0.5) { port, backend in
                    try await withBots(port: port, count: 2) { manager, recorder in
                        try await withClient(port: port) { client in
                            let human = try await Human.join("human-1", client: client)
                            try await idleBots(backend, count: 2)
                            #expect(human.lobby.presence.entries.keys.sorted() == ["human-1"], "bots are not in the lobby")
                            try await human.findStranger(backend: backend)
                            // When the match comes (the first pass at or after BOT_FILL_AFTER) is
                            // `MatchSchedulerTests.aLoneHumanMeetsABotAtTheFirstPassAfterBotFillAfter`, on the test clock.
                            let roomID = try await human.matchedRoom()
                            let members = try #require(backend.store.contents.members[roomID])
                            let botID = try #require(members.first { $0 != "human-1" })
                            #expect(botID.hasPrefix("bot-"))

                            let room = try await human.enter(roomID)
                            _ = await room.events.first { event in
                                if case .broadcast("message", let payload, _) = event { return payload["senderId"]?.stringValue == botID }
                                return false
                            }
                            try await room.broadcast(
                                event: "message", payload: ["senderId": "human-1", "content": "what is your name", "id": "m1"])
                            var sawTyping = false
                            var reply: JSONValue?
                            for await event in room.events {
                                guard case .broadcast(let name, let payload, _) = event, payload["senderId"]?.stringValue == botID else {
                                    continue
                                }
                                if name == "typing" { sawTyping = true }
                                if name == "message", sawTyping {
                                    reply = payload
                                    break
                                }
                            }
                            let message = try #require(reply)
                            #expect(message["content"]?.stringValue?.hasSuffix("! What's your name?") == true)
                            #expect(message["roomId"]?.stringValue == roomID)
                            #expect(message["sender"]?["id"]?.stringValue == botID)
                            #expect(RoomIDGenerator.isValid(message["id"]?.stringValue ?? ""))

                            try await room.broadcast(event: "room_closed", payload: ["leaverId": "human-1"])
                            await room.unsubscribe()
                            try await eventually { backend.store.registeredBots[botID]?.idle == true }
                            #expect(backend.store.registeredBots[botID]?.roomID == nil, "the bot is available again")
                            #expect(backend.pgmq.rows(backend.queueName).isEmpty, "bots never queue")
                            let paths = recorder.exchanges.map { "\($0.request.method) \($0.request.path)" }
                            #expect(paths.contains("POST /rest/v1/bot_analytics"))
                            #expect(paths.contains("POST /rest/v1/message"))
                            #expect(paths.contains("POST /rest/v1/user?on_conflict=id"))
                            let body = recorder.exchanges.last { $0.request.path == "/rest/v1/bot_analytics" }?.request.body
                            guard case .array(let rows)? = body, let analytics = rows.first else {
                                Issue.record("no analytics row")
                                return
                            }
                            #expect(analytics["conversation_id"]?.stringValue == roomID)
                            #expect(analytics["human_skipped"] == .bool(true))
                            #expect(analytics["messages_exchanged"] == .number(1))
                            #expect(manager.stats.totalBots == 2)
                        }
                    }
                }
            }
        }

        /// Issue 14: with more bots ready than a pass leases (`BATCH_SIZE` 100), humans were never read behind
        /// them. Bots now wait in the registry, not the queue, however many there are.
        @Test func withMoreBotsReadyThanABatchALoneHumanMeetsABotAndTwoHumansMeetEachOther() async throws {
            try await withWatchdog(.seconds(150)) {
                let fillAfter = 0.5
                try await withMatchmaker(botFillAfter: fillAfter) { port, backend in
                    try await withBots(port: port, count: 150) { manager, _ in
                        try await idleBots(backend, count: 150, within: .seconds(120))
                        let pool = manager.client.stats()
                        #expect(pool.sockets == 16, "150 user channels and the lobby observer, 10 to a socket")
                        #expect(backend.pgmq.rows(backend.queueName).isEmpty)
                        try await withClient(port: port) { client in
                            let lone = try await Human.join("lone", client: client)
                            let asked = ContinuousClock.now
                            try await lone.findStranger(backend: backend)
                            let room = try await lone.matchedRoom()
                            let waited = ContinuousClock.now - asked
                            print("a lone human met one of 150 bots after \(waited) (BOT_FILL_AFTER \(fillAfter) s)")
                            #expect(waited <= .seconds(fillAfter + 1))
                            #expect(backend.store.contents.members[room]?.contains { $0.hasPrefix("bot-") } == true)
                        }
                        try await twoHumansMeetEachOther(port: port, backend: backend)
                    }
                }
            }
        }

        @Test func twoHumansWaitingAtOnceArePairedWithEachOtherNotWithBots() async throws {
            try await withWatchdog {
                try await withMatchmaker(botFillAfter: 0.3) { port, backend in
                    try await withBots(port: port, count: 2) { _, _ in
                        try await idleBots(backend, count: 2)
                        try await twoHumansMeetEachOther(port: port, backend: backend)
                    }
                }
            }
        }

        @Test func gracefulShutdownClosesTheConversationPolitely() async throws {
            try await withWatchdog {
                try await withMatchmaker(botFillAfter: 0.2) { port, backend in
                    try await withClient(port: port) { client in
                        let human = try await Human.join("human-2", client: client)
                        let (roomID, room) = try await withBots(port: port, count: 1) { _, _ in
                            try await idleBots(backend, count: 1)
                            try await human.findStranger(backend: backend)
                            let roomID = try await human.matchedRoom()
                            let room = try await human.enter(roomID)
                            if room.presence.entries.count < 2 {
                                _ = await room.events.first { _ in room.presence.entries.count == 2 }
                            }
                            return (roomID, room)
                        }
                        var closed: JSONValue?
                        for await event in room.events {
                            if case .broadcast("room_closed", let payload, _) = event {
                                closed = payload
                                break
                            }
                        }
                        #expect(closed?["leaverId"]?.stringValue?.hasPrefix("bot-") == true, "room \(roomID)")
                        #expect(backend.store.registeredBots.isEmpty, "every lease released on shutdown")
                    }
                }
            }
        }
    }
}

/// Alice and Bob enqueue together with bots ready: they are put in one room, with each other.
private func twoHumansMeetEachOther(port: Int, backend: EmbeddedBackend) async throws {
    try await withClient(port: port) { client in
        let alice = try await Human.join("alice", client: client)
        let bob = try await Human.join("bob", client: client)
        try await alice.findStranger(backend: backend)
        try await bob.findStranger(backend: backend)
        async let first = alice.matchedRoom()
        async let second = bob.matchedRoom()
        let (a, b) = try await (first, second)
        #expect(a == b)
        #expect(Set(backend.store.contents.members[a] ?? []) == ["alice", "bob"])
    }
}
