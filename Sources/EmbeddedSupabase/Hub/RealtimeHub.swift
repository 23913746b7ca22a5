import Foundation
import Shared
import Synchronization

/// The embedded backend's Realtime: a Phoenix-channels hub with broadcast and presence (`docs/realtime.md`).
///
/// Every operation is a short synchronous section under one `Mutex`; frames go out through each connection's
/// outbox, which the connection's own task writes to its socket, so a slow client never blocks the hub.
public final class RealtimeHub: Sendable {
    /// A frame for one connection's socket.
    enum Outgoing: Sendable {
        /// A text frame.
        case text(String)
        /// A binary frame.
        case binary([UInt8])
        /// Close the socket.
        case close(reason: String)
    }

    /// What the hub saw, for tests that await it instead of sleeping.
    public enum Observation: Sendable, Hashable {
        /// A socket connected.
        case connected(connection: Int)
        /// A socket went away.
        case disconnected(connection: Int)
        /// A `phx_join` arrived; `at` is when the hub handled it, the moment a server's rate limit counts.
        case joinReceived(topic: String, connection: Int, at: Date)
        /// A heartbeat arrived.
        case heartbeatReceived(connection: Int)
        /// A socket that stopped reading was disconnected: `queuedBytes` is what it would have held with the next frame.
        case slowConsumerDisconnected(connection: Int, queuedBytes: Int)
    }

    /// Limits and timeouts.
    public struct Settings: Sendable, Hashable {
        /// A socket that sends nothing for this long is closed (Phoenix's 60 s).
        public var idleTimeout: Duration = .seconds(60)
        /// Channels one socket may join (`max_channels_per_client`, 100).
        public var maxChannelsPerClient = 100
        /// Presence track/untrack calls per channel and window.
        public var presenceBudget = PresenceBudget()
        /// Bytes of frames that may wait for one socket; a client that stops reading is disconnected beyond it.
        public var maxOutboundBytes = 8 << 20
        /// Bytes of one client broadcast payload or one presence meta (Supabase's free-plan payload size, 256 KB):
        /// beyond it the message is refused with `payload_size_exceeded` and reaches nobody.
        public var maxPayloadBytes = 256 << 10
        /// Presence meta bytes one socket may hold across its channels (`EMBEDDED_PRESENCE_BYTES_PER_SOCKET`): a
        /// track that would go beyond it is refused with `presence_limit_exceeded` and changes nothing.
        public var maxPresenceBytesPerSocket = 1 << 20
        /// Sockets one client address may hold at once (`EMBEDDED_SOCKETS_PER_ADDRESS`); the upgrade beyond it
        /// gets 429.
        public var maxSocketsPerAddress = 100
        /// Loopback addresses are exempt from `maxSocketsPerAddress` (the in-process bots open a socket per bot).
        public var loopbackExempt = true

        /// The defaults.
        public init() {}
    }

    private struct Membership {
        var joinRef: String?
        var ack: Bool
        var receiveOwn: Bool
        var presenceKey: String
        var presenceEnabled: Bool
        var isPrivate: Bool
        var budget: PresenceBudget
        var heldPresence = false
    }

    private struct Connection {
        var version: ProtocolVersion
        var outbox: HubOutbox
        var joins: [String: Membership] = [:]
        var lastSeen: Date
        /// Bytes of the presence metas this socket holds, across its channels.
        var presenceBytes = 0
    }

    private struct PresenceEntry {
        var connection: Int
        var key: String
        var meta: JSONValue
        /// The meta's bytes as JSON, what `maxPresenceBytesPerSocket` counts.
        var bytes: Int
    }

    private struct State {
        var connections: [Int: Connection] = [:]
        /// Presence per server topic (`private` channels are a different topic): topic → entries.
        var presences: [String: [PresenceEntry]] = [:]
        var nextConnection = 0
        var nextPresenceRef = 0
        var observer: AsyncStream<Observation>.Continuation?
        var joinsReceived = 0
        var lastJoinAccessToken: String??
        /// Sockets per client address, claimed at upgrade (`claimSocket`).
        var socketsByAddress: [String: Int] = [:]
    }

    /// Injected misbehaviour.
    public let faults: HubFaults
    /// Limits and timeouts.
    public let settings: Settings
    private let state = Mutex(State())

    /// Creates an empty hub.
    public init(settings: Settings = Settings(), faults: HubFaults = HubFaults()) {
        self.settings = settings
        self.faults = faults
    }

    /// A stream of what the hub sees from now on; a new call replaces the previous stream.
    public func observe() -> AsyncStream<Observation> {
        let (stream, continuation) = AsyncStream.makeStream(of: Observation.self)
        let previous = state.withLock { state in
            defer { state.observer = continuation }
            return state.observer
        }
        previous?.finish()
        return stream
    }

    /// Open sockets.
    public var connectionCount: Int { state.withLock { $0.connections.count } }

    /// How many topics someone is present on now; a topic whose last presence left is forgotten.
    public var presenceTopicCount: Int { state.withLock { $0.presences.count } }

    /// `phx_join` pushes received since start.
    public var joinsReceived: Int { state.withLock { $0.joinsReceived } }

    /// The `access_token` of the last `phx_join`: `nil` before any join, `.some(nil)` for a join without one.
    public var lastJoinAccessToken: String?? { state.withLock { $0.lastJoinAccessToken } }

    /// Members (presence keys) of a public channel, with their metas.
    public func presence(of name: String, isPrivate: Bool = false) -> [String: [JSONValue]] {
        let topic = Self.serverTopic("realtime:\(name)", isPrivate: isPrivate)
        return state.withLock { state in
            Dictionary(grouping: state.presences[topic] ?? [], by: \.key).mapValues { $0.map(\.meta) }
        }
    }

    /// The lobby's presence for a pass, or `nil` while no socket has joined `global:lobby`.
    public func lobbySnapshot() -> [String: [JSONValue]]? {
        let joined = state.withLock { state in
            state.connections.values.contains { $0.joins["realtime:global:lobby"].map { !$0.isPrivate } ?? false }
        }
        return joined ? presence(of: "global:lobby") : nil
    }

    /// Closes every socket at once, as a crashing server would.
    public func dropAllConnections() {
        let outboxes = state.withLock { $0.connections.values.map(\.outbox) }
        for outbox in outboxes { outbox.send(.close(reason: "dropped")) }
    }

    /// Crashes the channel process of every member of `realtime:<name>`: each gets `phx_error` and is dropped
    /// from the topic, as when Realtime's channel process dies.
    public func crashChannel(name: String) {
        let topic = "realtime:\(name)"
        state.withLock { state in
            for (id, connection) in state.connections {
                guard let membership = connection.joins[topic] else { continue }
                let crash = PhoenixMessage(
                    joinRef: membership.joinRef, ref: membership.joinRef, topic: topic, event: PhoenixEvent.error, payload: [:]
                )
                connection.outbox.send(.text(PhoenixSerializer(version: connection.version).encode(crash, includeJoinRef: false)))
                state.connections[id]?.joins[topic] = nil
                Self.untrackAll(&state, connection: id, topic: Self.serverTopic(topic, isPrivate: membership.isPrivate))
            }
        }
    }

    /// Sends every `presence_state` held back by `HubFaults.holdPresenceState`.
    public func releaseHeldPresence() {
        state.withLock { state in
            for (id, connection) in state.connections {
                for (topic, membership) in connection.joins where membership.heldPresence {
                    state.connections[id]?.joins[topic]?.heldPresence = false
                    Self.sendPresenceState(&state, to: id, topic: topic)
                }
            }
        }
    }

    // MARK: - Connections

    /// Takes one of `address`'s socket slots before an upgrade, or returns false when it holds
    /// `maxSocketsPerAddress` already; `nil` address (not IP) and, by default, loopback are not counted.
    /// A claimed slot is given back with `releaseSocket(address:)`.
    func claimSocket(address: String?) -> Bool {
        guard let address, !(settings.loopbackExempt && Self.isLoopback(address)) else { return true }
        return state.withLock { state in
            guard state.socketsByAddress[address, default: 0] < settings.maxSocketsPerAddress else { return false }
            state.socketsByAddress[address, default: 0] += 1
            return true
        }
    }

    /// Gives back a slot taken by `claimSocket(address:)`.
    func releaseSocket(address: String?) {
        guard let address, !(settings.loopbackExempt && Self.isLoopback(address)) else { return }
        state.withLock { state in
            let left = state.socketsByAddress[address, default: 0] - 1
            state.socketsByAddress[address] = left > 0 ? left : nil
        }
    }

    /// Sockets counted for `address` now.
    public func sockets(from address: String) -> Int { state.withLock { $0.socketsByAddress[address, default: 0] } }

    private static func isLoopback(_ address: String) -> Bool {
        address.hasPrefix("127.") || address == "::1" || address.hasPrefix("::ffff:127.")
    }

    /// Registers a socket speaking `version`; frames for it go to `outbox`.
    func connect(version: ProtocolVersion, outbox: HubOutbox, now: Date) -> Int {
        state.withLock { state in
            state.nextConnection += 1
            let id = state.nextConnection
            state.connections[id] = Connection(version: version, outbox: outbox, lastSeen: now)
            state.observer?.yield(.connected(connection: id))
            return id
        }
    }

    /// Forgets a socket: its presences leave every channel it had joined.
    func disconnect(_ id: Int) {
        state.withLock { state in
            guard let connection = state.connections.removeValue(forKey: id) else { return }
            for topic in connection.joins.keys {
                Self.untrackAll(&state, connection: id, topic: Self.serverTopic(topic, isPrivate: connection.joins[topic]!.isPrivate))
            }
            connection.outbox.finish()
            state.observer?.yield(.disconnected(connection: id))
        }
    }

    /// Reports a socket closed for not reading.
    func observeSlowConsumer(_ id: Int, queuedBytes: Int) {
        let observer = state.withLock { $0.observer }
        observer?.yield(.slowConsumerDisconnected(connection: id, queuedBytes: queuedBytes))
    }

    /// When the socket last sent anything.
    func lastSeen(_ id: Int) -> Date? { state.withLock { $0.connections[id]?.lastSeen } }

    /// Handles a text frame from socket `id`.
    func receive(text: String, from id: Int, now: Date) {
        guard let version = touch(id, now: now) else { return }
        guard let message = try? PhoenixSerializer(version: version).decode(text: text) else { return }
        handle(message, from: id, binaryOrigin: false, now: now)
    }

    /// Handles a binary frame (kind-3 user broadcast push) from socket `id`.
    func receive(binary: [UInt8], from id: Int, now: Date) {
        guard let version = touch(id, now: now) else { return }
        guard let message = try? PhoenixSerializer(version: version).decode(binary: binary) else { return }
        handle(message, from: id, binaryOrigin: true, now: now)
    }

    private func touch(_ id: Int, now: Date) -> ProtocolVersion? {
        state.withLock { state in
            state.connections[id]?.lastSeen = now
            return state.connections[id]?.version
        }
    }

    // MARK: - Server-side publishing

    /// Delivers a broadcast from the server side (REST API, notifier) to the subscribers of `realtime:<name>`.
    public func broadcast(name: String, event: String, payload: JSONValue, isPrivate: Bool = false, id messageID: String? = nil) {
        var body: [String: JSONValue] = ["type": "broadcast", "event": .string(event), "payload": payload]
        if let messageID { body["meta"] = ["id": .string(messageID)] }
        state.withLock { state in
            Self.fanOut(&state, topic: "realtime:\(name)", isPrivate: isPrivate, body: .object(body), except: nil, binaryOrigin: false)
        }
    }

    // MARK: - Protocol

    private func handle(_ message: PhoenixMessage, from id: Int, binaryOrigin: Bool, now: Date) {
        if message.topic == PhoenixEvent.phoenixTopic, message.event == PhoenixEvent.heartbeat {
            _ = state.withLock { $0.observer?.yield(.heartbeatReceived(connection: id)) }
            if !faults.heartbeatsIgnored { reply(to: message, from: id, status: "ok") }
            return
        }
        if message.event == PhoenixEvent.join {
            join(message, from: id, now: now)
            return
        }
        let membership = state.withLock { $0.connections[id]?.joins[message.topic] }
        guard let membership else {
            reply(to: message, from: id, status: "error", response: ["reason": "unmatched topic"])
            return
        }
        if let joinRef = message.joinRef, let current = membership.joinRef, joinRef != current { return }
        switch message.event {
        case PhoenixEvent.leave:
            reply(to: message, from: id, status: "ok")
            state.withLock { state in Self.part(&state, connection: id, topic: message.topic, closeRef: membership.joinRef) }
        case PhoenixEvent.broadcast:
            guard message.payload["type"]?.stringValue == "broadcast" || binaryOrigin else { return }
            guard Self.size(of: message.payload["payload"]) <= settings.maxPayloadBytes else {
                if membership.ack { reply(to: message, from: id, status: "error", response: ["error": "payload_size_exceeded"]) }
                return
            }
            state.withLock { state in
                Self.fanOut(
                    &state, topic: message.topic, isPrivate: membership.isPrivate, body: message.payload,
                    except: membership.receiveOwn ? nil : id, binaryOrigin: binaryOrigin
                )
            }
            if membership.ack { reply(to: message, from: id, status: "ok") }
        case PhoenixEvent.presence:
            presence(message, membership: membership, from: id, now: now)
        case PhoenixEvent.accessToken:
            break
        default:
            reply(to: message, from: id, status: "error", response: ["reason": "unmatched topic"])
        }
    }

    private func join(_ message: PhoenixMessage, from id: Int, now: Date) {
        state.withLock {
            $0.joinsReceived += 1
            $0.lastJoinAccessToken = .some(message.payload["access_token"]?.stringValue)
            $0.observer?.yield(.joinReceived(topic: message.topic, connection: id, at: now))
        }
        guard message.topic.hasPrefix("realtime:"), message.topic.count > "realtime:".count else {
            reply(to: message, from: id, status: "error", response: ["reason": "TopicNameRequired: You must provide a topic name"])
            return
        }
        if faults.joinsIgnored { return }
        if let refusal = faults.joinRefusal {
            reply(to: message, from: id, status: "error", response: ["reason": .string(refusal)])
            return
        }
        let config = message.payload["config"] ?? [:]
        var key = config["presence"]?["key"]?.stringValue ?? ""
        if key.isEmpty { key = UUID().uuidString.lowercased() }
        let membership = Membership(
            joinRef: message.joinRef ?? message.ref,
            ack: Self.flag(config["broadcast"]?["ack"]), receiveOwn: Self.flag(config["broadcast"]?["self"]),
            presenceKey: key, presenceEnabled: Self.flag(config["presence"]?["enabled"]), isPrivate: Self.flag(config["private"]),
            budget: settings.presenceBudget, heldPresence: faults.presenceHeld
        )
        let tooMany = state.withLock { state -> Bool in
            guard let connection = state.connections[id] else { return true }
            if let previous = connection.joins[message.topic] {
                // A duplicate join closes the old channel first, as Phoenix does.
                Self.part(&state, connection: id, topic: message.topic, closeRef: previous.joinRef)
                return false
            }
            return connection.joins.count >= settings.maxChannelsPerClient
        }
        if tooMany {
            reply(to: message, from: id, status: "error", response: ["reason": "ChannelRateLimitReached: Too many channels"])
            return
        }
        state.withLock { $0.connections[id]?.joins[message.topic] = membership }
        reply(to: message, from: id, status: "ok", response: ["postgres_changes": []])
        if membership.presenceEnabled, !membership.heldPresence {
            state.withLock { state in Self.sendPresenceState(&state, to: id, topic: message.topic) }
        }
    }

    private func presence(_ message: PhoenixMessage, membership: Membership, from id: Int, now: Date) {
        let event = message.payload["event"]?.stringValue?.lowercased()
        let allowed = state.withLock { state -> Bool in
            state.connections[id]?.joins[message.topic]?.budget.spend(now: now) ?? false
        }
        guard allowed else {
            let sub = String(message.topic.dropFirst("realtime:".count))
            push(
                to: id, topic: message.topic,
                event: PhoenixEvent.system,
                payload: [
                    "extension": "system", "status": "error", "message": "Client presence rate limit exceeded", "channel": .string(sub),
                ]
            )
            state.withLock { state in Self.part(&state, connection: id, topic: message.topic, closeRef: membership.joinRef) }
            return
        }
        let topic = Self.serverTopic(message.topic, isPrivate: membership.isPrivate)
        switch event {
        case "track":
            guard case .object(var fields) = message.payload["payload"] ?? [:] else {
                reply(to: message, from: id, status: "error", response: ["reason": "Presence track payload must be a map"])
                return
            }
            let bytes = Self.size(of: message.payload["payload"])
            guard bytes <= settings.maxPayloadBytes else {
                reply(to: message, from: id, status: "error", response: ["error": "payload_size_exceeded"])
                return
            }
            let fits = state.withLock { state -> Bool in
                let held = state.connections[id]?.presenceBytes ?? 0
                let replaced = state.presences[topic, default: []]
                    .filter { $0.connection == id && $0.key == membership.presenceKey }.reduce(0) { $0 + $1.bytes }
                return held - replaced + bytes <= settings.maxPresenceBytesPerSocket
            }
            guard fits else {
                reply(to: message, from: id, status: "error", response: ["error": "presence_limit_exceeded"])
                return
            }
            state.withLock { state in
                state.nextPresenceRef += 1
                fields["phx_ref"] = .string("embedded-\(state.nextPresenceRef)")
                let old = state.presences[topic, default: []].filter { $0.connection == id && $0.key == membership.presenceKey }
                if let previous = old.first { fields["phx_ref_prev"] = previous.meta["phx_ref"] ?? .null }
                Self.removePresences(&state, topic: topic) { $0.connection == id && $0.key == membership.presenceKey }
                let entry = PresenceEntry(connection: id, key: membership.presenceKey, meta: .object(fields), bytes: bytes)
                state.presences[topic, default: []].append(entry)
                state.connections[id]?.presenceBytes += bytes
                Self.sendDiff(&state, topic: topic, joins: [entry], leaves: old)
            }
            reply(to: message, from: id, status: "ok")
        case "untrack":
            state.withLock { state in
                let old = Self.removePresences(&state, topic: topic) { $0.connection == id && $0.key == membership.presenceKey }
                if !old.isEmpty { Self.sendDiff(&state, topic: topic, joins: [], leaves: old) }
            }
            reply(to: message, from: id, status: "ok")
        default:
            reply(to: message, from: id, status: "error", response: [:])
        }
    }

    // MARK: - Frames

    private func reply(to message: PhoenixMessage, from id: Int, status: String, response: JSONValue = [:]) {
        state.withLock { state in
            guard let connection = state.connections[id] else { return }
            let reply = PhoenixMessage.reply(to: message, status: status, response: response)
            connection.outbox.send(.text(PhoenixSerializer(version: connection.version).encode(reply, includeJoinRef: false)))
        }
    }

    private func push(to id: Int, topic: String, event: String, payload: JSONValue) {
        state.withLock { state in Self.push(&state, to: id, topic: topic, event: event, payload: payload) }
    }

    private static func push(_ state: inout State, to id: Int, topic: String, event: String, payload: JSONValue) {
        guard let connection = state.connections[id] else { return }
        let joinRef = connection.joins[topic]?.joinRef
        let message = PhoenixMessage(joinRef: joinRef, ref: nil, topic: topic, event: event, payload: payload)
        connection.outbox.send(.text(PhoenixSerializer(version: connection.version).encode(message, includeJoinRef: false)))
    }

    /// Removes a membership: presence leaves, then `phx_close` with the join ref.
    private static func part(_ state: inout State, connection id: Int, topic: String, closeRef: String?) {
        guard let membership = state.connections[id]?.joins.removeValue(forKey: topic) else { return }
        untrackAll(&state, connection: id, topic: serverTopic(topic, isPrivate: membership.isPrivate))
        guard let connection = state.connections[id] else { return }
        let close = PhoenixMessage(joinRef: closeRef, ref: closeRef, topic: topic, event: PhoenixEvent.close, payload: [:])
        connection.outbox.send(.text(PhoenixSerializer(version: connection.version).encode(close, includeJoinRef: false)))
    }

    private static func untrackAll(_ state: inout State, connection id: Int, topic: String) {
        let gone = removePresences(&state, topic: topic) { $0.connection == id }
        guard !gone.isEmpty else { return }
        sendDiff(&state, topic: topic, joins: [], leaves: gone)
    }

    /// Removes the entries of `topic` that match, and their bytes from their sockets' totals; returns them.
    @discardableResult
    private static func removePresences(_ state: inout State, topic: String, where matches: (PresenceEntry) -> Bool) -> [PresenceEntry] {
        let gone = state.presences[topic, default: []].filter(matches)
        guard !gone.isEmpty else { return [] }
        let remaining = state.presences[topic, default: []].filter { !matches($0) }
        // A topic nobody is present on is forgotten: room topics are new for every match.
        state.presences[topic] = remaining.isEmpty ? nil : remaining
        for entry in gone { state.connections[entry.connection]?.presenceBytes -= entry.bytes }
        return gone
    }

    private static func sendPresenceState(_ state: inout State, to id: Int, topic: String) {
        guard let membership = state.connections[id]?.joins[topic] else { return }
        let entries = state.presences[serverTopic(topic, isPrivate: membership.isPrivate)] ?? []
        push(&state, to: id, topic: topic, event: PhoenixEvent.presenceState, payload: grouped(entries))
    }

    private static func sendDiff(_ state: inout State, topic serverTopic: String, joins: [PresenceEntry], leaves: [PresenceEntry]) {
        let payload: JSONValue = ["joins": grouped(joins), "leaves": grouped(leaves)]
        for (id, connection) in state.connections {
            for (topic, membership) in connection.joins
            where membership.presenceEnabled && Self.serverTopic(topic, isPrivate: membership.isPrivate) == serverTopic {
                push(&state, to: id, topic: topic, event: PhoenixEvent.presenceDiff, payload: payload)
            }
        }
    }

    private static func fanOut(
        _ state: inout State, topic: String, isPrivate: Bool, body: JSONValue, except sender: Int?, binaryOrigin: Bool
    ) {
        for (id, connection) in state.connections where id != sender {
            guard let membership = connection.joins[topic], membership.isPrivate == isPrivate else { continue }
            let serializer = PhoenixSerializer(version: connection.version)
            // A binary push goes out binary, unless its meta (re-rendered) no longer fits the frame's lengths.
            if binaryOrigin, connection.version == .v2,
                let frame = serializer.encodeUserBroadcast(
                    topic: topic, event: body["event"]?.stringValue ?? "", payload: body["payload"] ?? .null, meta: body["meta"]
                )
            {
                connection.outbox.send(.binary(frame))
            } else {
                let message = PhoenixMessage(topic: topic, event: PhoenixEvent.broadcast, payload: body)
                connection.outbox.send(.text(serializer.encode(message, includeJoinRef: false)))
            }
        }
    }

    /// The bytes of `value` as JSON, what the payload limit counts; a value that cannot be encoded counts as too large.
    private static func size(of value: JSONValue?) -> Int {
        guard let value else { return 0 }
        return (try? JSONCoding.string(value))?.utf8.count ?? .max
    }

    private static func grouped(_ entries: [PresenceEntry]) -> JSONValue {
        var result: [String: JSONValue] = [:]
        for (key, group) in Dictionary(grouping: entries, by: \.key) {
            result[key] = ["metas": .array(group.map(\.meta))]
        }
        return .object(result)
    }

    private static func serverTopic(_ topic: String, isPrivate: Bool) -> String {
        isPrivate ? "private|\(topic)" : topic
    }

    /// Realtime's flexible booleans: `true`, `"true"`, `1`.
    private static func flag(_ value: JSONValue?) -> Bool {
        switch value {
        case .bool(let flag)?: flag
        case .string(let text)?: ["true", "1", "yes", "on"].contains(text.lowercased())
        case .number(let number)?: number.doubleValue != 0
        default: false
        }
    }
}
