import Foundation

/// How the Realtime client connects and behaves (contract §7).
///
/// ## Configuration keys
/// - `SUPABASE_URL` (string): the project URL; the socket is `<url>/realtime/v1/websocket`.
/// - `REALTIME_CONNECT_TIMEOUT` (seconds, default `8`): connect + join (+ first `presence_state`).
/// - `MAX_CHANNELS_PER_CONNECTION` (int, default `10`): channels multiplexed on one socket.
/// - `REALTIME_JOINS_PER_SECOND` (int, default `100`): the pool's join rate.
public struct RealtimeConfiguration: Sendable, Hashable {
    /// The project URL (`http(s)://…`); `ws(s)` is derived from it.
    public var url: String
    /// The API key sent as `apikey`.
    public var apiKey: String
    /// The JWT sent as `access_token` on every join; defaults to the API key when that is a legacy JWT key,
    /// and to none for a new `sb_…` key (`SupabaseKeyKind.realtimeAccessToken`).
    public var accessToken: String?
    /// The protocol version.
    public var version: ProtocolVersion = .v2
    /// Connect + join (+ first `presence_state`) must finish within this.
    public var connectTimeout: Duration = .seconds(8)
    /// Heartbeat interval on topic `phoenix`.
    public var heartbeatInterval: Duration = .seconds(25)
    /// Channel join retries (the seed's values).
    public var channelBackoff: Backoff = .channel
    /// Socket reconnect delays (1 s doubling to 10 s, as realtime-js), retried while channels remain.
    public var reconnectBackoff = Backoff(maxRetries: .max, baseDelay: .seconds(1), maxDelay: .seconds(10))
    /// Channels per socket.
    public var maxChannelsPerConnection = 10
    /// Joins per second across the pool: at most this many in any window of 1 s + `joinWindowMargin`.
    public var joinsPerSecond = 100
    /// The delay jitter (client wake-up to server handling) the join window absorbs; see `JoinRateLimiter`.
    public var joinWindowMargin: Duration = .milliseconds(100)
    /// Presence track/untrack calls allowed per channel and window.
    public var presenceBudget = PresenceBudget()
    /// The largest inbound message.
    public var maxFrameSize = 1 << 20

    /// Creates a configuration with the contract's defaults.
    public init(url: String, apiKey: String, accessToken: String? = nil, version: ProtocolVersion = .v2) {
        self.url = url
        self.apiKey = apiKey
        self.accessToken = accessToken
        self.version = version
    }

    /// `<ws(s) url>/realtime/v1/websocket?apikey=<key>&vsn=<version>`.
    public var socketURL: String {
        var base = url
        while base.hasSuffix("/") { base.removeLast() }
        if base.hasPrefix("https://") {
            base = "wss://" + base.dropFirst(8)
        } else if base.hasPrefix("http://") {
            base = "ws://" + base.dropFirst(7)
        }
        return base + socketPath
    }

    /// The socket's path and query relative to `url`: `/realtime/v1/websocket?apikey=<key>&vsn=<version>`.
    public var socketPath: String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=+")
        let key = apiKey.addingPercentEncoding(withAllowedCharacters: allowed) ?? apiKey
        return "/realtime/v1/websocket?apikey=\(key)&vsn=\(version.rawValue)"
    }
}

/// A channel's join options: the `config` of `phx_join`.
public struct ChannelOptions: Sendable, Hashable {
    /// Ask the server to acknowledge each broadcast.
    public var broadcastAck = false
    /// Receive our own broadcasts.
    public var broadcastSelf = false
    /// The presence key (empty lets the server pick one).
    public var presenceKey = ""
    /// Receive `presence_state`/`presence_diff`; the lobby needs it (contract §2).
    public var presenceEnabled = false
    /// A private channel (RLS-checked).
    public var isPrivate = false

    /// Creates options; the defaults are realtime-js's.
    public init(
        broadcastAck: Bool = false, broadcastSelf: Bool = false, presenceKey: String = "", presenceEnabled: Bool = false,
        isPrivate: Bool = false
    ) {
        self.broadcastAck = broadcastAck
        self.broadcastSelf = broadcastSelf
        self.presenceKey = presenceKey
        self.presenceEnabled = presenceEnabled
        self.isPrivate = isPrivate
    }

    /// The `phx_join` payload with `access_token`.
    public func joinPayload(accessToken: String?) -> JSONValue {
        var payload: [String: JSONValue] = [
            "config": [
                "broadcast": ["ack": .bool(broadcastAck), "self": .bool(broadcastSelf)],
                "presence": ["key": .string(presenceKey), "enabled": .bool(presenceEnabled)],
                "postgres_changes": [],
                "private": .bool(isPrivate),
            ]
        ]
        if let accessToken { payload["access_token"] = .string(accessToken) }
        return .object(payload)
    }
}

/// Something that happened on a channel, in order.
public enum ChannelEvent: Sendable, Hashable {
    /// The join (or a rejoin) succeeded.
    case subscribed
    /// A broadcast arrived.
    case broadcast(event: String, payload: JSONValue, meta: JSONValue?)
    /// The full presence state arrived (`presence_state`).
    case presenceSync(PresenceState)
    /// Presence changed (`presence_diff`); the channel's `presence` already includes the change.
    ///
    /// The event carries the diff only: a copy of the whole state in every event would cost O(lobby)
    /// per diff per channel, and a full lobby of bots would then grow with the cube of its size.
    case presenceDiff(diff: JSONValue)
    /// A recoverable error (`phx_error`, a `system` error, socket trouble, a refused attempt); a rejoin follows.
    case error(RealtimeError)
    /// The channel is gone: closed by the server, given up, or left (`nil`). No event follows.
    case closed(RealtimeError?)
}
