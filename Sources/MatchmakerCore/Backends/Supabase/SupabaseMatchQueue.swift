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
        try await drop(msgIDs, archive: false)
    }

    func archive(_ msgIDs: [Int64]) async throws {
        try await drop(msgIDs, archive: true)
    }

    /// One `drop_stranger_messages` call for the lot (`pgmq_public.delete` and `archive` take one id each).
    private func drop(_ msgIDs: [Int64], archive: Bool) async throws {
        guard !msgIDs.isEmpty else { return }
        _ = try await pgmq.postgrest.rpc(
            "drop_stranger_messages",
            arguments: [
                "queue_name": .string(pgmq.queue), "msg_ids": .array(msgIDs.map { .number(JSONNumber($0)) }), "archive": .bool(archive),
            ]
        )
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
