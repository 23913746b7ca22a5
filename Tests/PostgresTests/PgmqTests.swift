import Foundation
import MatchmakerCore
import PostgresNIO
import Shared
import Testing

/// pgmq as the tests have it: the upstream extension SQL (pgmq 1.13.0, from the `pgmq` Python package), not a stand-in.
extension PostgresSuite {
    @Test func theQueueIsTheUpstreamPgmq() async throws {
        try await TestDatabase.withClient { client in
            // Upstream's message record has `last_read_at` (the old stand-in's had not), and its grouped reads exist.
            let lastReadAt = try await client.count(
                """
                select count(*) from pg_attribute a join pg_type t on t.typrelid = a.attrelid
                where t.oid = 'pgmq.message_record'::regtype and a.attname = 'last_read_at'
                """
            )
            #expect(lastReadAt == 1)
            let groupedReads = try await client.count(
                "select count(*) from pg_proc where oid = to_regprocedure('pgmq.read_grouped(text, integer, integer)')")
            #expect(groupedReads == 1)
        }
    }

    @Test func concurrentReadsNeverLeaseTheSameMessage() async throws {
        let queue = "\(TestDatabase.uniquePrefix("lease"))-q"
        let total = 600
        try await TestDatabase.withClient { client in
            try await client.createQueue(queue)
            let backend = PostgresBackend(client: client, queueName: queue, logger: TestDatabase.logger)
            _ = try await backend.queue.send((0..<total).map { ["userId": .string("u\($0)")] })
        }
        // Eight readers, each with its own pool, read small batches until the queue has nothing visible.
        let leased = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await TestDatabase.withClient(maximumConnections: 1) { client in
                        let reader = PostgresMatchQueue(client: client, queueName: queue, logger: TestDatabase.logger)
                        var mine: [Int64] = []
                        while true {
                            let rows = try await reader.lease(count: 7, leaseSeconds: 60)
                            if rows.isEmpty { return mine }
                            #expect(rows.allSatisfy { $0.readCount == 1 })
                            mine += rows.map(\.msgID)
                        }
                    }
                }
            }
            var all: [Int64] = []
            for try await ids in group { all += ids }
            return all
        }
        #expect(leased.count == total)
        #expect(Set(leased).count == total, "a message was leased twice")
    }

    @Test func visibilityTimeoutHidesAMessageAndEachReadCounts() async throws {
        let queue = "\(TestDatabase.uniquePrefix("vt"))-q"
        try await TestDatabase.withClient { client in
            try await client.createQueue(queue)
            let backend = PostgresBackend(client: client, queueName: queue, logger: TestDatabase.logger)
            let ids = try await backend.queue.send([["userId": "a"]])
            let id = try #require(ids.first)

            // A visibility timeout of 0 (the original's `sleep_seconds: 0`) hides nothing.
            #expect(try await backend.queue.lease(count: 1, leaseSeconds: 0).map(\.readCount) == [1])
            #expect(try await backend.queue.lease(count: 1, leaseSeconds: 30).map(\.readCount) == [2])
            #expect(try await backend.queue.lease(count: 1, leaseSeconds: 30).isEmpty, "leased: hidden for 30 s")

            // End the lease early instead of waiting for it.
            try await client.command("select * from pgmq.set_vt(\(queue), \(id), 0)", logger: TestDatabase.logger)
            let again = try await backend.queue.lease(count: 1, leaseSeconds: 30)
            #expect(again.map(\.msgID) == [id])
            #expect(again.map(\.readCount) == [3])

            // A message sent with a delay is invisible until then.
            try await client.command("select pgmq.send(\(queue), '{\"userId\":\"b\"}'::jsonb, 60)", logger: TestDatabase.logger)
            #expect(try await backend.queue.lease(count: 5, leaseSeconds: 30).isEmpty)
        }
    }

    @Test func wrappersDeleteArchiveAndPopLikePgmqForTheServiceRole() async throws {
        let queue = "\(TestDatabase.uniquePrefix("wrap"))-q"
        try await TestDatabase.withClient { client in
            try await client.createQueue(queue)
            try await client.withConnection { connection in
                try await connection.command("set role service_role", logger: TestDatabase.logger)
                let sent = try await connection.query(
                    """
                    select * from pgmq_public.send_batch(queue_name => \(queue),
                        messages => array['{"userId":"a"}', '{"userId":"b"}', '{"userId":"c"}']::jsonb[])
                    """,
                    logger: TestDatabase.logger
                )
                var ids: [Int64] = []
                for try await id in sent.decode(Int64.self) { ids.append(id) }
                #expect(ids.count == 3)
                let deleted = try await connection.query(
                    """
                    select pgmq_public.delete(queue_name => \(queue), message_id => \(ids[0])),
                           pgmq_public.delete(queue_name => \(queue), message_id => \(ids[0]))
                    """,
                    logger: TestDatabase.logger
                )
                for try await (first, second) in deleted.decode((Bool, Bool).self) {
                    #expect(first != second, "deleting twice: one true, one false")
                }
                let archived = try await connection.query(
                    "select pgmq_public.archive(queue_name => \(queue), message_id => \(ids[1]))", logger: TestDatabase.logger
                )
                for try await value in archived.decode(Bool.self) { #expect(value) }
                let popped = try await connection.query(
                    "select msg_id, read_ct from pgmq_public.pop(queue_name => \(queue))", logger: TestDatabase.logger
                )
                var poppedIDs: [Int64] = []
                for try await (id, _) in popped.decode((Int64, Int32).self) { poppedIDs.append(id) }
                #expect(poppedIDs == [ids[2]])
                try await connection.command("reset role", logger: TestDatabase.logger)
            }
            #expect(try await client.count("select count(*) from pgmq.\(unescaped: "\"a_\(queue)\"")") == 1)
            #expect(try await client.count("select count(*) from pgmq.\(unescaped: "\"q_\(queue)\"")") == 0)
        }
    }
}
