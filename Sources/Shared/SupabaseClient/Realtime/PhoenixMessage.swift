/// One Phoenix channels message: `[join_ref, ref, topic, event, payload]` (`docs/realtime.md`).
public struct PhoenixMessage: Sendable, Hashable {
    /// The ref of the channel's current `phx_join`, or `nil` (heartbeats, fan-out, vsn 1.0.0 server frames).
    public var joinRef: String?
    /// This message's ref, echoed by the reply; `nil` for pushes that expect none.
    public var ref: String?
    /// The topic, `realtime:<name>` or `phoenix`.
    public var topic: String
    /// The event name.
    public var event: String
    /// The payload.
    public var payload: JSONValue

    /// Creates a message.
    public init(joinRef: String? = nil, ref: String? = nil, topic: String, event: String, payload: JSONValue = [:]) {
        self.joinRef = joinRef
        self.ref = ref
        self.topic = topic
        self.event = event
        self.payload = payload
    }
}

/// The event names of the protocol.
public enum PhoenixEvent {
    /// Join a channel.
    public static let join = "phx_join"
    /// Leave a channel.
    public static let leave = "phx_leave"
    /// A reply to a push with the same ref.
    public static let reply = "phx_reply"
    /// The server closed the channel.
    public static let close = "phx_close"
    /// The channel process crashed.
    public static let error = "phx_error"
    /// Keep-alive on topic `phoenix`.
    public static let heartbeat = "heartbeat"
    /// A broadcast message.
    public static let broadcast = "broadcast"
    /// Presence track/untrack push.
    public static let presence = "presence"
    /// The full presence state, sent once after join.
    public static let presenceState = "presence_state"
    /// Presence joins and leaves.
    public static let presenceDiff = "presence_diff"
    /// Supabase's channel-level status and error messages.
    public static let system = "system"
    /// A token refresh.
    public static let accessToken = "access_token"
    /// The topic of heartbeats.
    public static let phoenixTopic = "phoenix"
}

extension PhoenixMessage {
    /// A `phx_reply` to `request` with `status` and `response`.
    public static func reply(to request: PhoenixMessage, status: String, response: JSONValue = [:]) -> PhoenixMessage {
        PhoenixMessage(
            joinRef: request.joinRef, ref: request.ref, topic: request.topic, event: PhoenixEvent.reply,
            payload: ["status": .string(status), "response": response]
        )
    }

    /// The `status` of a reply payload (`ok` or `error`).
    public var replyStatus: String? { payload["status"]?.stringValue }

    /// The `response` of a reply payload.
    public var replyResponse: JSONValue { payload["response"] ?? [:] }
}
