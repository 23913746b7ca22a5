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
        let message: JSONValue = ["topic": .string(topic), "event": .string(event), "payload": payload, "private": .bool(isPrivate)]
        let response = try await transport.send(
            UpstreamRequest(method: "POST", path: "/realtime/v1/api/broadcast", body: ["messages": [message]])
        )
        guard (200..<300).contains(response.status) else {
            throw UpstreamError(kind: .status(response.status), message: "broadcast \(event) to \(topic): \(response.body.prefix(200))")
        }
    }
}
