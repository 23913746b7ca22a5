import Foundation
import Logging
import Shared

/// `MatchQueue` over `pgmq_public`.
struct SupabaseMatchQueue: MatchQueue {
    let pgmq: PgmqClient

    func lease(count: Int, leaseSeconds: Int) async throws -> [QueueRow] {
        try await pgmq.read(count: count, leaseSeconds: leaseSeconds)
    }

    func delete(_ msgIDs: [Int64]) async throws {
        for id in msgIDs { _ = try await pgmq.delete(id) }
    }

    func archive(_ msgIDs: [Int64]) async throws {
        for id in msgIDs { _ = try await pgmq.archive(id) }
    }

    func release(_ msgIDs: [Int64], leasedUntil: Date) async throws -> Int {
        guard !msgIDs.isEmpty else { return 0 }
        let released = try await pgmq.postgrest.rpc(
            "release_stranger_messages",
            arguments: [
                "queue_name": .string(pgmq.queue), "msg_ids": .array(msgIDs.map { .number(JSONNumber($0)) }),
                "leased_until": .string(Timestamp.format(leasedUntil)),
            ]
        )
        return Int(released?.integerValue ?? 0)
    }
}
