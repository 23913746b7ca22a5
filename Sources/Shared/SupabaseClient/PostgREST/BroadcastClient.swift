import Foundation

/// Realtime's REST broadcast API: `POST /realtime/v1/api/broadcast`, 202 when Realtime took the messages.
public struct BroadcastClient: Sendable {
    let transport: any HTTPTransport
    /// Broadcast on private channels (`NOTIFY_PRIVATE`).
    public let isPrivate: Bool

    /// Creates a client.
    public init(transport: any HTTPTransport, isPrivate: Bool = false) {
        self.transport = transport
        self.isPrivate = isPrivate
    }

    /// Sends one broadcast; returns only on 2xx.
    /// - Throws: `UpstreamError`: 401/403 are final; 429, 5xx and transport errors retryable.
    public func send(topic: String, event: String, payload: JSONValue) async throws {
        try await send([(topic, event, payload)])
    }

    /// Sends many broadcasts in one request (the endpoint takes a list of messages); returns only on 2xx,
    /// which Realtime answers for all of them or none.
    /// - Throws: `UpstreamError` as `send(topic:event:payload:)`.
    public func send(_ messages: [(topic: String, event: String, payload: JSONValue)]) async throws {
        guard let first = messages.first else { return }
        let body: [JSONValue] = messages.map {
            ["topic": .string($0.topic), "event": .string($0.event), "payload": $0.payload, "private": .bool(isPrivate)]
        }
        let response = try await transport.send(
            UpstreamRequest(method: "POST", path: "/realtime/v1/api/broadcast", body: ["messages": .array(body)])
        )
        guard (200..<300).contains(response.status) else {
            let what = messages.count == 1 ? "\(first.event) to \(first.topic)" : "\(messages.count) messages"
            throw UpstreamError(kind: .status(response.status), message: "broadcast \(what): \(response.body.prefix(200))")
        }
    }
}
