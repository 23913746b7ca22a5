import Foundation
import MatchmakerCore
import PostgresNIO
import Shared
import Testing

/// The bot registry of `20260701000008_bot_registry.sql` on real PostgreSQL: `lease_bots`, `ready_bots`,
/// `idle_bots`, and `commit_stranger_matches` claiming a registered bot for a lone human (docs/contract.md,
/// "RPCs added by our migrations").
extension PostgresSuite {
    @Test func twoOwnersNeverHoldOneBotIdentity() async throws {
        let prefix = TestDatabase.uniquePrefix("regown")
        let (x, y, z) = ("\(prefix)x", "\(prefix)y", "\(prefix)z")
        try await TestDatabase.withClient { client in
            let first = try await client.leasedIDs("\(prefix)A", [x, y])
            #expect(first == [x, y])
            #expect(try await client.leasedIDs("\(prefix)B", [y, z]) == [z], "y is A's, with a live lease")
            #expect(try await client.leasedIDs("\(prefix)A", [x, y]) == [x, y])
        }
        // Two owners asking for the same identities at once, in opposite orders, from two connections.
        let ids = (0..<40).map { "\(prefix)c\($0)" }
        for round in 0..<5 {
            async let first = TestDatabase.withClient { try await $0.leaseBots("\(prefix)P", ids).map(\.id) }
            async let second = TestDatabase.withClient { try await $0.leaseBots("\(prefix)Q", ids.reversed()).map(\.id) }
            let (p, q) = try await (first, second)
            #expect(Set(p).isDisjoint(with: q), "round \(round): both hold \(Set(p).intersection(q).sorted())")
            #expect(Set(p).union(q) == Set(ids), "round \(round): every identity is held")
            try await TestDatabase.withClient { client in
                _ = try await client.leaseBots("\(prefix)P", [])
                _ = try await client.leaseBots("\(prefix)Q", [])
            }
        }
    }

    @Test func aRenewedLeaseKeepsTheBotsClaimAndATakeoverAfterExpiryStartsAfresh() async throws {
        let prefix = TestDatabase.uniquePrefix("regrenew")
        let bot = "\(prefix)x"
        try await TestDatabase.withClient { client in
            _ = try await client.leaseBots("\(prefix)A", [bot], seconds: 30)
            try await client.command(
                """
                update public.matchmaker_bot set idle = false, room_id = 'claimed-room', claimed_at = now() - interval '5 seconds',
                    lease_until = now() + interval '1 second'
                where bot_id = \(bot)
                """, logger: TestDatabase.logger)
            let renewed = try await client.leaseBots("\(prefix)A", [bot], seconds: 30)
            #expect(renewed.map(\.id) == [bot])
            #expect(renewed.first?.roomID == "claimed-room" && renewed.first?.claimedAt != nil && renewed.first?.idle == false)
            #expect(
                try await client.count(
                    "select count(*) from public.matchmaker_bot where bot_id = \(bot) and lease_until > now() + interval '20 seconds'") == 1
            )

            try await client.command("update public.matchmaker_bot set idle = true where bot_id = \(bot)", logger: TestDatabase.logger)
            #expect(try await client.leaseBots("\(prefix)B", [bot]).isEmpty, "A's lease is live")
            try await client.expireLease(bot)
            let taken = try await client.leaseBots("\(prefix)B", [bot])
            #expect(taken.map(\.id) == [bot])
            #expect(taken.first?.idle == false && taken.first?.roomID == nil && taken.first?.claimedAt == nil)
            #expect(try await client.leaseBots("\(prefix)A", [bot]).isEmpty, "B holds it now")
        }
    }

    @Test func aLeaseReleasesTheBotsItLeavesOutAndAnEmptyListReleasesThemAll() async throws {
        let prefix = TestDatabase.uniquePrefix("regrel")
        let (x, y, z) = ("\(prefix)x", "\(prefix)y", "\(prefix)z")
        try await TestDatabase.withClient { client in
            _ = try await client.leaseBots("\(prefix)A", [x, y, z])
            #expect(try await client.leasedIDs("\(prefix)A", [x]) == [x])
            #expect(try await client.registryRows(prefix) == 1)
            #expect(try await client.leasedIDs("\(prefix)B", [y]) == [y], "released, so free at once")
            #expect(try await client.leaseBots("\(prefix)A", []).isEmpty)
            #expect(try await client.registryRows(prefix) == 1, "only B's y is left")
            #expect(try await client.leaseBots("\(prefix)A", [y]).isEmpty, "A's release left B's row alone")
        }
    }

    @Test func readyBotsReadiesOnlyTheOwnersLiveLeasesAndRepairsOnlyStaleClaims() async throws {
        let prefix = TestDatabase.uniquePrefix("regready")
        let (x, y, z) = ("\(prefix)x", "\(prefix)y", "\(prefix)z")
        try await TestDatabase.withClient { client in
            _ = try await client.leaseBots("\(prefix)A", [x, y, z])
            try await client.expireLease(x)
            #expect(try await client.readyBots("\(prefix)B", [y, z]) == 0, "not B's")
            #expect(try await client.readyBots("\(prefix)A", [x, y]) == 1, "x's lease ended")
            #expect(try await client.idleBots(limit: 10_000).filter { $0.hasPrefix(prefix) } == [y])

            // y claimed two minutes ago, z a moment ago: only y's claim is stale.
            try await client.command(
                """
                update public.matchmaker_bot set idle = false, room_id = 'some-room',
                    claimed_at = now() - case bot_id when \(y) then interval '120 seconds' else interval '5 seconds' end
                where bot_id in (\(y), \(z))
                """, logger: TestDatabase.logger)
            #expect(try await client.readyBots("\(prefix)A", [y, z], staleClaimSeconds: 60) == 1)
            let rows = try await client.leaseBots("\(prefix)A", [x, y, z])
            #expect(rows.map(\.idle) == [false, true, false])
            #expect(rows.map(\.roomID) == [nil, nil, "some-room"])
            #expect(try await client.readyBots("\(prefix)A", [z]) == 0, "a claim for a room the bot has not left is kept")
            #expect(try await client.readyBots("\(prefix)A", [z], finishedRoom: "other-room") == 0)
            #expect(
                try await client.readyBots("\(prefix)A", [y, z], finishedRoom: "some-room") == 1, "z left some-room; y is idle already")
        }
    }

    @Test func idleBotsAreTheIdleOnesWithALiveLeaseAtMostTheLimit() async throws {
        let prefix = TestDatabase.uniquePrefix("regidle")
        let (w, x, y, z) = ("\(prefix)w", "\(prefix)x", "\(prefix)y", "\(prefix)z")
        try await TestDatabase.withClient { client in
            _ = try await client.leaseBots("\(prefix)A", [w, x, y, z])
            #expect(try await client.readyBots("\(prefix)A", [w, x, y]) == 3)
            try await client.expireLease(y)
            #expect(Set(try await client.idleBots(limit: 10_000).filter { $0.hasPrefix(prefix) }) == [w, x])
            #expect(try await client.idleBots(limit: 1).count == 1)
            #expect(try await client.idleBots(limit: 2).count == 2)
        }
    }

    @Test func aLoneHumanIsCommittedWithAnIdleRegisteredBotWhichIsThenClaimed() async throws {
        let prefix = TestDatabase.uniquePrefix("regcommit")
        try await TestDatabase.withClient { client in
            let (backend, bot, humans, ids) = try await client.humansAndOneReadyBot(prefix: prefix, humans: 2)
            let first = MatchCommit(Self.room(prefix, 1, humans[0], bot), humans[0], bot, consuming: [ids[0]])
            #expect(try await backend.store.commit(batch: [first]) == [.committed])
            let claimed = try await client.leaseBots("\(prefix)owner", [bot])
            #expect(claimed.first?.idle == false && claimed.first?.roomID == first.room.id && claimed.first?.claimedAt != nil)
            #expect(try await client.count("select count(*) from public.room_member where room_id = \(first.room.id)") == 2)
            #expect(!(try await client.idleBots(limit: 10_000).contains(bot)))

            let second = MatchCommit(Self.room(prefix, 2, humans[1], bot), humans[1], bot, consuming: [ids[1]])
            #expect(try await backend.store.commit(batch: [second]) == [.rejected(code: "MM004")], "claimed by the first call")
            #expect(try await client.count("select count(*) from public.room where id = \(second.room.id)") == 0)
            #expect(try await client.queued(backend) == 1, "the second human stays queued")
        }
    }

    @Test func aBotWhoseLeaseEndedOrThatIsNotIdleIsRefusedWithMM004() async throws {
        let prefix = TestDatabase.uniquePrefix("regmm4")
        try await TestDatabase.withClient { client in
            let (backend, bot, humans, ids) = try await client.humansAndOneReadyBot(prefix: prefix, humans: 2)
            let busy = "\(prefix)busy"
            try await client.createUsers([busy], bots: [busy])
            _ = try await client.leaseBots("\(prefix)owner", [bot, busy])
            try await client.expireLease(bot)
            let outcomes = try await backend.store.commit(batch: [
                MatchCommit(Self.room(prefix, 1, humans[0], bot), humans[0], bot, consuming: [ids[0]]),
                MatchCommit(Self.room(prefix, 2, humans[1], busy), humans[1], busy, consuming: [ids[1]]),
            ])
            #expect(outcomes == [.rejected(code: "MM004"), .rejected(code: "MM004")])
            #expect(try await client.queued(backend) == 2)
            #expect(
                try await client.count(
                    "select count(*) from public.matchmaker_bot where bot_id in (\(bot), \(busy)) and room_id is not null") == 0)
        }
    }

    @Test func aUserWithoutRegistryRowStillNeedsALeasedMessage() async throws {
        let prefix = TestDatabase.uniquePrefix("regmm1")
        try await TestDatabase.withClient { client in
            let (backend, bot, humans, _) = try await client.humansAndOneReadyBot(prefix: prefix, humans: 1)
            let unqueued = "\(prefix)unqueued"
            try await client.createUsers([unqueued])
            let outcomes = try await backend.store.commit(batch: [
                MatchCommit(Self.room(prefix, 1, unqueued, bot), unqueued, bot, consuming: [])
            ])
            #expect(outcomes == [.rejected(code: "MM001")])
            #expect(try await client.idleBots(limit: 10_000).contains(bot), "the bot is not claimed")
            #expect(try await client.queued(backend) == humans.count)
        }
    }

    /// Two calls at once, from two connections, each pairing every bot with a human of its own (in opposite
    /// orders, the second with the bot as `user1`): the registry rows locked in bot_id order give each bot one
    /// room, and the other call MM004. Both calls are held on the humans' messages until both wait, so that
    /// they read the registry at the same moment.
    @Test func concurrentCommitsNeverClaimOneBotTwice() async throws {
        let prefix = TestDatabase.uniquePrefix("regrace")
        let count = 30
        let bots = (0..<count).map { "\(prefix)b\($0)" }
        let (queue, humans, ids) = try await TestDatabase.withClient { client in
            let (backend, bot, humans, ids) = try await client.humansAndOneReadyBot(prefix: prefix, humans: 2 * count)
            try await client.createUsers(bots, bots: Set(bots))
            _ = try await client.leaseBots("\(prefix)owner", [bot] + bots)
            #expect(try await client.readyBots("\(prefix)owner", bots) == count)
            return (backend.queueName, humans, ids)
        }
        let one = (0..<count).map { i in
            MatchCommit(Self.room(prefix, i, humans[i], bots[i]), humans[i], bots[i], consuming: [ids[i]])
        }
        let two = (0..<count).reversed().map { i in
            MatchCommit(Self.room(prefix, count + i, bots[i], humans[count + i]), bots[i], humans[count + i], consuming: [ids[count + i]])
        }
        let outcomes = try await TestDatabase.withClient { blocker in
            try await blocker.withConnection { connection in
                try await connection.command("begin", logger: TestDatabase.logger)
                try await connection.command(
                    "select msg_id from pgmq.\(unescaped: "\"q_\(queue.lowercased())\"") for update", logger: TestDatabase.logger)
                async let first = TestDatabase.withClient { client in
                    try await PostgresBackend(client: client, queueName: queue, logger: TestDatabase.logger).store.commit(batch: one)
                }
                async let second = TestDatabase.withClient { client in
                    try await PostgresBackend(client: client, queueName: queue, logger: TestDatabase.logger).store.commit(batch: two)
                }
                try await blocker.waitForLockWaiters(2, on: "commit_stranger_matches(")
                try await connection.command("commit", logger: TestDatabase.logger)
                return try await first + second
            }
        }
        #expect(outcomes.count { $0 == .committed } == count)
        #expect(outcomes.allSatisfy { $0 == .committed || $0 == .rejected(code: "MM004") })
        try await TestDatabase.withClient { client in
            let twice = try await client.count(
                """
                select count(*) from (select user_id from public.room_member where user_id = any(\(bots))
                group by user_id having count(*) > 1) t
                """)
            #expect(twice == 0)
            let claimedAsSeated = try await client.count(
                """
                select count(*) from public.matchmaker_bot b join public.room_member m on m.room_id = b.room_id and m.user_id = b.bot_id
                where b.bot_id = any(\(bots)) and not b.idle
                """)
            #expect(claimedAsSeated == count, "each bot's row names the room it sits in")
        }
    }
}

extension PostgresSuite {
    /// A room for `user1` and `user2`, numbered `n` within the test `prefix`.
    static func room(_ prefix: String, _ n: Int, _ user1: String, _ user2: String) -> Room {
        Room(id: String((prefix + "r\(n)x000000000000000000").prefix(24)), first: user1, second: user2, createdAt: Date())
    }
}

/// One row of `lease_bots`' answer.
struct LeasedBot: Equatable {
    var id: String
    var idle: Bool
    var roomID: String?
    var claimedAt: Date?
}

extension PostgresClient {
    /// `lease_bots(owner, ids, seconds)`: the rows `owner` holds afterwards, by id.
    func leaseBots(_ owner: String, _ ids: [String], seconds: Int = 30) async throws -> [LeasedBot] {
        let rows = try await query(
            "select bot_id, idle, room_id::text, claimed_at from public.lease_bots(\(owner), \(ids)::text[], \(seconds)::int4)",
            logger: TestDatabase.logger)
        var leased: [LeasedBot] = []
        for try await (id, idle, room, at) in rows.decode((String, Bool, String?, Date?).self) {
            leased.append(LeasedBot(id: id, idle: idle, roomID: room, claimedAt: at))
        }
        return leased
    }

    /// The ids of `leaseBots(owner, ids)`.
    func leasedIDs(_ owner: String, _ ids: [String]) async throws -> [String] {
        try await leaseBots(owner, ids).map(\.id)
    }

    /// `ready_bots(owner, ids, staleClaimSeconds, finishedRoom)`: how many rows changed.
    func readyBots(_ owner: String, _ ids: [String], staleClaimSeconds: Int? = nil, finishedRoom: String? = nil) async throws -> Int {
        try await count(
            "select public.ready_bots(\(owner), \(ids)::text[], \(staleClaimSeconds)::int4, \(finishedRoom)::varchar)::int8")
    }

    /// The postgres store's `idleBots(limit:)`.
    func idleBots(limit: Int) async throws -> [String] {
        try await PostgresMatchStore(client: self, queueName: "unused", logger: TestDatabase.logger).idleBots(limit: limit)
    }

    /// Returns once `count` statements calling `function` wait for a lock (polled; a guard of a minute against a hang).
    func waitForLockWaiters(_ count: Int, on function: String) async throws {
        let pattern = "%\(function)%"
        for _ in 0..<6_000 {
            let waiting = try await self.count(
                """
                select count(*) from pg_stat_activity
                where wait_event_type = 'Lock' and query like \(pattern) and pid <> pg_backend_pid()
                """)
            if waiting >= count { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("\(count) calls of \(function) never waited for a lock together")
    }

    /// Ends `bot`'s lease a second ago, whoever holds it.
    func expireLease(_ bot: String) async throws {
        try await command(
            "update public.matchmaker_bot set lease_until = now() - interval '1 second' where bot_id = \(bot)", logger: TestDatabase.logger)
    }

    /// Registry rows whose id starts with `prefix`.
    func registryRows(_ prefix: String) async throws -> Int {
        try await count("select count(*) from public.matchmaker_bot where bot_id like \(prefix + "%")")
    }

    /// Messages left on `backend`'s queue.
    func queued(_ backend: PostgresBackend) async throws -> Int {
        try await count("select count(*) from pgmq.\(unescaped: "\"q_\(backend.queueName.lowercased())\"")")
    }

    /// `humans` users each with one message leased on a new queue `<prefix>-q`, and the bot `<prefix>bot`
    /// registered by `<prefix>owner`, idle with a live lease and no message of its own.
    func humansAndOneReadyBot(
        prefix: String, humans count: Int
    ) async throws -> (backend: PostgresBackend, bot: String, humans: [String], msgIDs: [Int64]) {
        let bot = "\(prefix)bot"
        let humans = (0..<count).map { "\(prefix)h\($0)" }
        try await createUsers(humans + [bot], bots: [bot])
        try await createQueue("\(prefix)-q")
        let backend = PostgresBackend(client: self, queueName: "\(prefix)-q", logger: TestDatabase.logger)
        let ids = try await backend.queue.send(humans.map { ["userId": .string($0)] })
        _ = try await backend.queue.lease(count: count, leaseSeconds: 30)
        _ = try await leaseBots("\(prefix)owner", [bot])
        _ = try await readyBots("\(prefix)owner", [bot])
        return (backend, bot, humans, ids)
    }
}
