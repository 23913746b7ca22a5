/// A Realtime failure, always with its cause: the original `CHANNEL_ERROR` came without one.
public struct RealtimeError: ClassifiedError, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// The server answered `phx_join` with an error reply.
        case joinRefused = "join_refused"
        /// Connect + join (+ first `presence_state`) did not finish within the connect timeout.
        case timedOut = "timed_out"
        /// The channel process crashed (`phx_error`).
        case channelError = "channel_error"
        /// The server closed the channel (`phx_close`).
        case channelClosed = "channel_closed"
        /// A `system` message with status `error`.
        case system
        /// The socket closed or could not be opened.
        case socketClosed = "socket_closed"
        /// The server refused the WebSocket upgrade; `status` says how, when it could be learnt.
        case handshakeRefused = "handshake_refused"
        /// A heartbeat went unanswered.
        case heartbeatTimeout = "heartbeat_timeout"
        /// A push was answered with an error reply.
        case pushRefused = "push_refused"
        /// The client gave up (retries exhausted or a non-retryable error).
        case gaveUp = "gave_up"
    }

    /// What went wrong.
    public var kind: Kind
    /// The cause in words: the server's reason, the close reason, the underlying error.
    public var reason: String
    /// The server payload that carried the error, when there was one.
    public var payload: JSONValue?
    /// The HTTP status of a refused handshake (kept when the client gives up because of it).
    public var status: Int?

    /// Creates an error.
    public init(_ kind: Kind, reason: String, payload: JSONValue? = nil, status: Int? = nil) {
        self.kind = kind
        self.reason = reason
        self.payload = payload
        self.status = status
    }

    /// Refusals and `system` errors are judged by their text, a refused handshake by its status (also once
    /// given up on); transport trouble is retried.
    public var failureClass: FailureClass {
        switch kind {
        case .gaveUp: status.map(ErrorClassifier.classify(handshakeStatus:)) ?? ErrorClassifier.classify(text: reason)
        case .joinRefused, .system, .channelClosed, .pushRefused: ErrorClassifier.classify(text: reason)
        case .handshakeRefused: status.map(ErrorClassifier.classify(handshakeStatus:)) ?? .retryable
        case .timedOut, .channelError, .socketClosed, .heartbeatTimeout: .retryable
        }
    }

    public var description: String { "\(kind.rawValue): \(reason)" }

    /// The reason text of an error reply: `response.reason`, else every response value joined (as realtime-js).
    public static func reason(ofReply response: JSONValue) -> String {
        if let reason = response["reason"]?.stringValue { return reason }
        if case .object(let fields) = response, !fields.isEmpty {
            return fields.keys.sorted().map { fields[$0]?.stringValue ?? (try? JSONCoding.string(fields[$0]!)) ?? "" }
                .joined(separator: ", ")
        }
        return "Unknown Error on Channel"
    }
}
