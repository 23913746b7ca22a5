import Foundation
import Logging
import PostgresNIO
import Shared

/// The pass's queue over pgmq on a direct connection: `pgmq.read` leases, `pgmq.delete` and `pgmq.archive`;
/// `public.release_stranger_messages` ends the lease of kept messages.
public struct PostgresMatchQueue: MatchQueue {
    let client: PostgresClient
    let queueName: String
    let logger: Logger

    /// A queue named `queueName` reached through `client`.
    public init(client: PostgresClient, queueName: String, logger: Logger) {
        self.client = client
        self.queueName = queueName
        self.logger = logger
    }

    public func lease(count: Int, leaseSeconds: Int) async throws -> [QueueRow] {
        try await database {
            let rows = try await client.query(
                """
                select msg_id, read_ct::int8, enqueued_at, vt, message::text
                from pgmq.read(\(queueName), \(leaseSeconds)::int4, \(count)::int4)
                """,
                logger: logger
            )
            var leased: [QueueRow] = []
            for try await (msgID, readCount, enqueuedAt, visibleAt, body) in rows.decode((Int64, Int64, Date, Date, String).self) {
                let message = (try? JSONValue(parsing: Data(body.utf8))) ?? .string(body)
                leased.append(
                    QueueRow(msgID: msgID, readCount: Int(readCount), enqueuedAt: enqueuedAt, visibleAt: visibleAt, message: message)
                )
            }
            return leased.sorted { $0.msgID < $1.msgID }
        }
    }

    public func delete(_ msgIDs: [Int64]) async throws {
        guard !msgIDs.isEmpty else { return }
        try await database {
            try await client.command("select count(*) from pgmq.delete(\(queueName), \(msgIDs)::bigint[])", logger: logger)
        }
    }

    public func archive(_ msgIDs: [Int64]) async throws {
        guard !msgIDs.isEmpty else { return }
        try await database {
            try await client.command("select count(*) from pgmq.archive(\(queueName), \(msgIDs)::bigint[])", logger: logger)
        }
    }

    public func release(_ msgIDs: [Int64], leasedUntil: Date) async throws -> Int {
        guard !msgIDs.isEmpty else { return 0 }
        return try await database {
            let rows = try await client.query(
                "select public.release_stranger_messages(\(queueName), \(msgIDs)::bigint[], \(leasedUntil))", logger: logger
            )
            var released = 0
            for try await count in rows.decode(Int.self) { released = count }
            return released
        }
    }

    /// `pgmq.send_batch`: enqueues messages in order and returns their ids (tests and benchmarks seed with it).
    public func send(_ messages: [JSONValue], delaySeconds: Int = 0) async throws -> [Int64] {
        let bodies = try messages.map { try JSONCoding.string($0) }
        return try await database {
            let rows = try await client.query(
                "select * from pgmq.send_batch(\(queueName), \(bodies)::jsonb[], \(delaySeconds)::int4)", logger: logger
            )
            var ids: [Int64] = []
            for try await id in rows.decode(Int64.self) { ids.append(id) }
            return ids
        }
    }
}
