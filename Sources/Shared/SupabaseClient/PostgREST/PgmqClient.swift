import Foundation

/// Supabase Queues through PostgREST: the `pgmq_public` wrappers with their exact argument names.
public struct PgmqClient: Sendable {
    /// The PostgREST client underneath (the project's own functions go through it).
    public let postgrest: PostgRESTClient
    /// The queue (`stranger-queue`).
    public let queue: String

    /// Creates a client for one queue.
    public init(postgrest: PostgRESTClient, queue: String) {
        self.postgrest = postgrest
        self.queue = queue
    }

    /// `send(queue_name, message, sleep_seconds)`: the new message's id.
    public func send(_ message: JSONValue, delay: Int = 0) async throws -> Int64 {
        try await ids(
            postgrest.rpc(
                "send", schema: "pgmq_public",
                arguments: ["queue_name": .string(queue), "message": message, "sleep_seconds": .number(JSONNumber(delay))])
        ).first ?? 0
    }

    /// `send_batch(queue_name, messages, sleep_seconds)`: the new ids in order.
    public func sendBatch(_ messages: [JSONValue], delay: Int = 0) async throws -> [Int64] {
        try ids(
            await postgrest.rpc(
                "send_batch", schema: "pgmq_public",
                arguments: ["queue_name": .string(queue), "messages": .array(messages), "sleep_seconds": .number(JSONNumber(delay))]
            )
        )
    }

    /// `read(queue_name, sleep_seconds, n)`: up to `count` messages, hidden for `leaseSeconds` (the visibility timeout).
    public func read(count: Int, leaseSeconds: Int) async throws -> [QueueRow] {
        let result = try await postgrest.rpc(
            "read", schema: "pgmq_public",
            arguments: ["queue_name": .string(queue), "sleep_seconds": .number(JSONNumber(leaseSeconds)), "n": .number(JSONNumber(count))]
        )
        return try (result ?? .array([])).decode(as: [QueueRow].self)
    }

    /// `pop(queue_name)`: reads and deletes one message.
    public func pop() async throws -> QueueRow? {
        try (await postgrest.rpc("pop", schema: "pgmq_public", arguments: ["queue_name": .string(queue)]) ?? .array([]))
            .decode(as: [QueueRow].self).first
    }

    /// `delete(queue_name, message_id)`: true when the message existed.
    public func delete(_ msgID: Int64) async throws -> Bool {
        try await postgrest.rpc(
            "delete", schema: "pgmq_public", arguments: ["queue_name": .string(queue), "message_id": .number(JSONNumber(msgID))])
            == .bool(true)
    }

    /// `archive(queue_name, message_id)`: true when the message existed.
    public func archive(_ msgID: Int64) async throws -> Bool {
        try await postgrest.rpc(
            "archive", schema: "pgmq_public", arguments: ["queue_name": .string(queue), "message_id": .number(JSONNumber(msgID))])
            == .bool(true)
    }

    private func ids(_ result: JSONValue?) throws -> [Int64] {
        guard case .array(let values)? = result else { throw UpstreamError(kind: .status(200), message: "send: expected an array of ids") }
        return values.compactMap(\.integerValue)
    }
}
