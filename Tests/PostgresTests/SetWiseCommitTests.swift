import Foundation
import MatchmakerCore
import PostgresNIO
import Shared
import Testing

extension PostgresSuite {
    /// `commit_stranger_matches`: one call, each match all or nothing on its own; a match that cannot commit
    /// is refused with the single-match function's SQLSTATE and leaves its users queued, the others commit.
    @Test func aSetWiseCommitRefusesOnlyTheMatchesThatCannotCommit() async throws {
        let prefix = TestDatabase.uniquePrefix("sw")
        let queue = "\(prefix)-q"
        try await TestDatabase.withClient { client in
            let users = (0..<10).map { "\(prefix)u\($0)" }
            let ghost = "\(prefix)ghost"
            try await client.createUsers(users)
            try await client.createQueue(queue)
            let backend = PostgresBackend(client: client, queueName: queue, logger: TestDatabase.logger)
            let ids = try await backend.queue.send((users + [ghost]).map { ["userId": .string($0)] })
            _ = try await backend.queue.lease(count: 20, leaseSeconds: 30)
            try await client.command(
                "insert into public.skipped_pair (user_a_id, user_b_id) values (\(users[4]), \(users[5]))", logger: TestDatabase.logger)
            // u3's message was taken by another matcher meanwhile.
            try await backend.queue.delete([ids[3]])

            func match(_ n: Int, _ a: Int, _ b: Int, user2: String? = nil) -> MatchCommit {
                let room = Room(
                    id: String((prefix + "r\(n)000000000000000000").prefix(24)), first: users[a], second: user2 ?? users[b],
                    createdAt: Date())
                return MatchCommit(room, users[a], user2 ?? users[b], consuming: [ids[a], user2 == nil ? ids[b] : ids[10]])
            }
            let batch = [
                match(0, 0, 1),  // commits
                match(1, 2, 3),  // MM001: u3's leased message is gone
                match(2, 4, 5),  // MM002: skipped each other just now
                match(3, 6, 7),  // MM003: u7 is in two matches of the call
                match(4, 7, 8),  // MM003
                match(5, 9, 0, user2: ghost),  // 23503: the ghost has no user row
            ]
            let outcomes = try await backend.store.commit(batch: batch)
            #expect(
                outcomes == [
                    .committed, .rejected(code: "MM001"), .rejected(code: "MM002"), .rejected(code: "MM003"), .rejected(code: "MM003"),
                    .rejected(code: "23503"),
                ])
            #expect(try await client.count("select count(*) from public.room where owner_id like \(prefix + "%")") == 1)
            #expect(try await client.count("select count(*) from public.room_member where user_id like \(prefix + "%")") == 2)
            #expect(try await client.count("select count(*) from public.matchmaker_outbox where queue_name = \(queue)") == 1)
            let left = try await client.count("select count(*) from pgmq.\(unescaped: "\"q_\(queue)\"")")
            #expect(left == 8, "everyone but u0, u1 (committed) and u3 (taken) stays queued")

            try await backend.store.roomsNotified(ids: [batch[0].room.id, "nothing"])
            #expect(try await client.count("select count(*) from public.matchmaker_outbox where queue_name = \(queue)") == 0)
        }
    }

    /// With `realtime.send` as the notifier, the set-wise commit stores both `stranger_matched` in the match's
    /// transaction and writes no outbox row: the match is settled when the call returns.
    @Test func aSetWiseCommitCanStoreTheNotificationsInItsTransaction() async throws {
        let prefix = TestDatabase.uniquePrefix("swn")
        let queue = "\(prefix)-q"
        try await TestDatabase.withClient { client in
            let (backend, a, b, ids) = try await client.queuedPair(prefix: prefix)
            _ = try await backend.queue.lease(count: 2, leaseSeconds: 30)
            let ports = backend.ports(
                presence: EmbeddedLikePresence(), notifier: SQLBroadcastNotifier(client: client, logger: TestDatabase.logger))
            let store = try #require(ports.store as? any BatchMatchStore)
            var match = MatchCommit(
                Room(id: String((prefix + "r000000000000000000").prefix(24)), first: a, second: b, createdAt: Date()), a, b, consuming: ids)
            match.notifications = [try .matched(a, room: match.room), try .matched(b, room: match.room)]
            #expect(try await store.commit(batch: [match]) == [.committedAndNotified])
            #expect(try await client.count("select count(*) from public.matchmaker_outbox where queue_name = \(queue)") == 0)
            let told = try await client.count(
                """
                select count(*) from realtime.messages where event = 'stranger_matched' and topic in (\("user:" + a), \("user:" + b))
                  and payload -> 'room' ->> 'id' = \(match.room.id) and not private
                """)
            #expect(told == 2)
        }
    }

    /// Two set-wise commits over the same users at once, each pairing them differently, from two connections:
    /// the locks taken in `msg_id` order keep them apart without a deadlock, no user lands in two rooms, and
    /// every user is in a room or still queued.
    @Test func concurrentSetWiseCommitsNeverShareAUser() async throws {
        let prefix = TestDatabase.uniquePrefix("swc")
        let queue = "\(prefix)-q"
        let users = (0..<200).map { "\(prefix)u\($0)" }
        try await TestDatabase.withClient { client in
            try await client.createUsers(users)
            try await client.createQueue(queue)
        }
        let ids = try await TestDatabase.withClient { client in
            let backend = PostgresBackend(client: client, queueName: queue, logger: TestDatabase.logger)
            return try await backend.queue.send(users.map { ["userId": .string($0)] })
        }
        // Matcher one pairs neighbours (0-1, 2-3, …); matcher two pairs with a shift (1-2, 3-4, …), in reverse order.
        func batch(_ tag: String, _ pairs: [(Int, Int)]) -> [MatchCommit] {
            pairs.enumerated().map { offset, pair in
                let room = Room(
                    id: String((prefix + tag + String(format: "%04d", offset) + "000000000000000000").prefix(24)), first: users[pair.0],
                    second: users[pair.1], createdAt: Date())
                return MatchCommit(room, users[pair.0], users[pair.1], consuming: [ids[pair.0], ids[pair.1]])
            }
        }
        let one = batch("a", stride(from: 0, to: 200, by: 2).map { ($0, $0 + 1) })
        let two = batch("b", stride(from: 1, to: 199, by: 2).reversed().map { ($0, $0 + 1) })
        async let first = TestDatabase.withClient { client in
            try await PostgresBackend(client: client, queueName: queue, logger: TestDatabase.logger).store.commit(batch: one)
        }
        async let second = TestDatabase.withClient { client in
            try await PostgresBackend(client: client, queueName: queue, logger: TestDatabase.logger).store.commit(batch: two)
        }
        let outcomes = try await first + second
        let committed = outcomes.count { $0 == .committed }
        #expect(committed > 0)
        #expect(outcomes.allSatisfy { $0 == .committed || $0 == .rejected(code: "MM001") })
        try await TestDatabase.withClient { client in
            let twice = try await client.count(
                """
                select count(*) from (select user_id from public.room_member where user_id like \(prefix + "%")
                group by user_id having count(*) > 1) t
                """)
            #expect(twice == 0)
            let members = try await client.count("select count(*) from public.room_member where user_id like \(prefix + "%")")
            #expect(members == 2 * committed)
            let queued = try await client.count("select count(*) from pgmq.\(unescaped: "\"q_\(queue)\"")")
            #expect(members + queued == users.count, "every user is in a room or still queued")
        }
    }
}

/// No lobby: what the `postgres` backend has without Supabase Realtime.
private struct EmbeddedLikePresence: PresenceSource {
    func snapshot() async -> PresenceSnapshot { .unavailable(reason: "no lobby in this test") }
}
