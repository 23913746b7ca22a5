import Foundation
import MatchmakerCore
import PostgresNIO
import Shared
import Testing

/// Every test against the real PostgreSQL, one at a time (the migration test rewrites functions others call).
@Suite("PostgreSQL", .serialized, .enabled(if: TestDatabase.shouldRun, "needs DATABASE_URL (scripts/with-postgres.sh)"))
struct PostgresSuite {
    /// Each test starts with an empty bot registry: a pass offers any idle bot of the database to a lone human,
    /// so bots another test left idle would join this test's rooms.
    init() async throws {
        _ = try await TestDatabase.withClient { client in
            try await client.query("delete from public.matchmaker_bot", logger: TestDatabase.logger)
        }
    }

    @Test func migrationsApplyTwiceAndKeepTheData() async throws {
        let prefix = TestDatabase.uniquePrefix("mig")
        try await TestDatabase.withClient { client in
            try await client.createUsers(["\(prefix)a", "\(prefix)b"])
            try await client.command(
                "select public.create_stranger_room(\(String(prefix.prefix(24))), \(prefix + "a"), \(prefix + "b"))",
                logger: TestDatabase.logger
            )
        }
        let migrations = TestDatabase.migrations
        #expect(migrations.count >= 3)
        for _ in 0..<2 {
            for file in migrations { try TestDatabase.applyFile(file) }
        }
        try await TestDatabase.withClient { client in
            #expect(try await client.count("select count(*) from public.room_member where user_id like \(prefix + "%")") == 2)
            #expect(
                try await client.count("select count(*) from public.room where \"isDM\" and not is_locked and owner_id = \(prefix + "a")")
                    == 1)
            #expect(try await client.count("select count(*) from pgmq.list_queues() where queue_name = 'stranger-queue'") == 1)
            let wrappers = try await client.query(
                """
                select p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')'
                from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                where n.nspname = 'pgmq_public' order by 1
                """,
                logger: TestDatabase.logger
            )
            var signatures: [String] = []
            for try await signature in wrappers.decode(String.self) { signatures.append(signature) }
            #expect(
                signatures == [
                    "archive(queue_name text, message_id bigint)", "delete(queue_name text, message_id bigint)",
                    "pop(queue_name text)", "read(queue_name text, sleep_seconds integer, n integer)",
                    "send(queue_name text, message jsonb, sleep_seconds integer)",
                    "send_batch(queue_name text, messages jsonb[], sleep_seconds integer)",
                ]
            )
            for role in ["service_role", "anon", "authenticated"] {
                // Supabase's grant of the queue wrappers stays (the app enqueues as anon); our RPCs are the service role's.
                let canRead = try await client.count(
                    "select has_function_privilege(\(role), 'pgmq_public.read(text, integer, integer)', 'execute')::int4::int8")
                let canCommit = try await client.count(
                    """
                    select has_function_privilege(\(role), 'public.commit_stranger_match(text, varchar, text, text, bigint[], integer, integer, timestamptz)', 'execute')::int4::int8
                    """
                )
                #expect(canRead == 1, "pgmq_public.read for \(role)")
                #expect(canCommit == (role == "service_role" ? 1 : 0), "commit_stranger_match for \(role)")
            }
        }
    }

    @Test func aCommitLeavesNothingWhenAMemberInsertFails() async throws {
        let prefix = TestDatabase.uniquePrefix("atom")
        let queue = "\(prefix)-q"
        try await TestDatabase.withClient { client in
            let (a, ghost) = ("\(prefix)a", "\(prefix)ghost")
            try await client.createUsers([a])
            try await client.createQueue(queue)
            let backend = PostgresBackend(client: client, queueName: queue, logger: TestDatabase.logger)
            let ids = try await backend.queue.send([["userId": .string(a)], ["userId": .string(ghost)]])
            _ = try await backend.queue.lease(count: 2, leaseSeconds: 30)
            let roomID = String((prefix + "roomroomroomroom").prefix(24))
            // The second user does not exist: the member insert violates its foreign key.
            let room = Room(id: roomID, first: a, second: ghost, createdAt: Date())
            let error = try await #require(throws: PostgresBackendError.self) {
                try await backend.store.commit(MatchCommit(room, a, ghost, consuming: ids))
            }
            #expect(error.sqlState == "23503")
            #expect(!error.failureClass.isRetryable)
            #expect(try await client.count("select count(*) from public.room where id = \(roomID)") == 0)
            #expect(try await client.count("select count(*) from public.room_member where room_id = \(roomID)") == 0)
            #expect(try await client.count("select count(*) from public.matchmaker_outbox where room_id = \(roomID)") == 0)
            #expect(try await client.count("select count(*) from pgmq.\(unescaped: "\"q_\(queue)\"")") == 2, "both stay queued")
        }
    }

    @Test func commitConsumesBothUsersMessagesAndUndoRestoresThem() async throws {
        let prefix = TestDatabase.uniquePrefix("commit")
        let queue = "\(prefix)-q"
        try await TestDatabase.withClient { client in
            let (a, b, c) = ("\(prefix)a", "\(prefix)b", "\(prefix)c")
            try await client.createUsers([a, b, c])
            try await client.createQueue(queue)
            let backend = PostgresBackend(client: client, queueName: queue, logger: TestDatabase.logger)
            let first = try await backend.queue.send([["userId": .string(a)], ["userId": .string(b)], ["userId": .string(a)]])
            let leased = try await backend.queue.lease(count: 2, leaseSeconds: 30)
            #expect(leased.map(\.msgID) == Array(first.prefix(2)))

            let room = Room(id: String((prefix + "r000000000000000").prefix(24)), first: a, second: b, createdAt: Date())
            try await backend.store.commit(MatchCommit(room, a, b, consuming: leased.map(\.msgID)))
            #expect(try await client.count("select count(*) from pgmq.\(unescaped: "\"q_\(queue)\"")") == 0, "the duplicate of a went too")
            #expect(try await client.count("select count(*) from public.matchmaker_outbox where room_id = \(room.id)") == 1)

            // A second commit for the same users finds their messages gone: another matcher won.
            let again = Room(id: String((prefix + "s000000000000000").prefix(24)), first: a, second: c, createdAt: Date())
            let lost = try await #require(throws: PostgresBackendError.self) {
                try await backend.store.commit(MatchCommit(again, a, c, consuming: [first[0]]))
            }
            #expect(lost.isLeaseLost)
            #expect(try await client.count("select count(*) from public.room where id = \(again.id)") == 0)

            try await backend.store.deleteRoom(id: room.id)
            #expect(try await client.count("select count(*) from public.room where id = \(room.id)") == 0)
            #expect(try await client.count("select count(*) from public.matchmaker_outbox where room_id = \(room.id)") == 0)
            let restored = try await backend.queue.lease(count: 10, leaseSeconds: 30)
            #expect(restored.map(\.msgID) == first, "same ids, so FIFO order and age survive the undo")
            #expect(restored.map(\.readCount) == [2, 2, 1])
        }
    }

    @Test func releaseEndsOnlyThisPassesLease() async throws {
        let prefix = TestDatabase.uniquePrefix("release")
        let queue = "\(prefix)-q"
        try await TestDatabase.withClient { client in
            try await client.createQueue(queue)
            let backend = PostgresBackend(client: client, queueName: queue, logger: TestDatabase.logger)
            let ids = try await backend.queue.send([["userId": "a"], ["userId": "b"], ["userId": "c"]])
            let ours = try await backend.queue.lease(count: 2, leaseSeconds: 30)
            #expect(try await backend.queue.lease(count: 10, leaseSeconds: 30).map(\.msgID) == [ids[2]], "a and b are leased")
            let leasedUntil = try #require(ours.map(\.visibleAt).max())

            // c was leased by another read after ours: our bound leaves its lease alone.
            #expect(try await backend.queue.release([ids[2]], leasedUntil: leasedUntil) == 0)
            #expect(try await backend.queue.release(Array(ids.prefix(2)) + [999_999], leasedUntil: leasedUntil) == 2)
            let again = try await backend.queue.lease(count: 10, leaseSeconds: 30)
            #expect(again.map(\.msgID) == Array(ids.prefix(2)), "visible again at once; c keeps its lease")
            #expect(again.map(\.readCount) == [2, 2])
            #expect(try await backend.queue.release([], leasedUntil: leasedUntil) == 0)
        }
    }

    @Test func commitRefusesAPairThatSkippedEachOtherInTheWindow() async throws {
        let prefix = TestDatabase.uniquePrefix("skip")
        let queue = "\(prefix)-q"
        try await TestDatabase.withClient { client in
            let (backend, a, b, ids) = try await client.queuedPair(prefix: prefix)
            try await client.command(
                "insert into public.skipped_pair (user_a_id, user_b_id) values (\(a), \(b))", logger: TestDatabase.logger)
            let room = Room(id: String((prefix + "r000000000000000").prefix(24)), first: a, second: b, createdAt: Date())
            let error = try await #require(throws: PostgresBackendError.self) {
                try await backend.store.commit(MatchCommit(room, a, b, consuming: ids))
            }
            #expect(error.sqlState == "MM002")
            #expect(try await client.count("select count(*) from pgmq.\(unescaped: "\"q_\(queue)\"")") == 2)
            let skips = try await backend.store.recentSkips(among: [b], since: Date().addingTimeInterval(-10))
            #expect(skips.map(\.userA) == [a])
        }
    }
}
