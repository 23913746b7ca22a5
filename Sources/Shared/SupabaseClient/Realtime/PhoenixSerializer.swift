import Foundation

/// The Realtime protocol version, chosen by the `vsn` URL parameter.
public enum ProtocolVersion: String, Sendable, Hashable, CaseIterable, Codable {
    /// JSON objects `{topic, event, payload, ref, join_ref}`.
    case v1 = "1.0.0"
    /// JSON arrays `[join_ref, ref, topic, event, payload]` plus binary broadcast frames.
    case v2 = "2.0.0"
}

/// A frame that is not a valid Phoenix message for the serializer's version.
public struct PhoenixDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong.
    public var reason: String

    /// Creates an error.
    public init(_ reason: String) { self.reason = reason }

    public var description: String { "malformed Phoenix frame: \(reason)" }
}

/// Encodes and decodes Phoenix frames of one protocol version; a pure value, used by the client and the hub.
public struct PhoenixSerializer: Sendable, Hashable {
    /// Binary frame kinds of vsn 2.0.0 (`docs/realtime.md`).
    public enum BinaryKind: UInt8, Sendable {
        /// Generic client push.
        case push = 0
        /// Server reply with a binary payload.
        case reply = 1
        /// Server broadcast with a binary payload.
        case broadcast = 2
        /// Client user broadcast push.
        case userBroadcastPush = 3
        /// Server user broadcast.
        case userBroadcast = 4
    }

    /// The version this serializer speaks.
    public var version: ProtocolVersion

    /// Creates a serializer for `version`.
    public init(version: ProtocolVersion) { self.version = version }

    /// Encodes a message as a text frame. On vsn 1.0.0, `join_ref` is sent only when `includeJoinRef`
    /// (clients send it; Phoenix servers never do).
    public func encode(_ message: PhoenixMessage, includeJoinRef: Bool = true) -> String {
        let value: JSONValue
        switch version {
        case .v1:
            var fields: [String: JSONValue] = [
                "topic": .string(message.topic), "event": .string(message.event), "payload": message.payload,
                "ref": message.ref.map(JSONValue.string) ?? .null,
            ]
            if includeJoinRef, let joinRef = message.joinRef { fields["join_ref"] = .string(joinRef) }
            value = .object(fields)
        case .v2:
            value = [
                message.joinRef.map(JSONValue.string) ?? .null, message.ref.map(JSONValue.string) ?? .null,
                .string(message.topic), .string(message.event), message.payload,
            ]
        }
        return value.jsonText
    }

    /// Decodes a text frame.
    /// - Throws: `PhoenixDecodingError` when the frame is not this version's shape.
    public func decode(text: String) throws -> PhoenixMessage {
        guard let value = try? JSONValue(parsing: Data(text.utf8)) else {
            throw PhoenixDecodingError("not JSON")
        }
        switch (version, value) {
        case (.v1, .object(let fields)):
            guard let topic = fields["topic"]?.stringValue, let event = fields["event"]?.stringValue,
                let payload = fields["payload"], fields.keys.contains("ref")
            else { throw PhoenixDecodingError("expected topic, event, payload and ref") }
            return PhoenixMessage(
                joinRef: Self.ref(fields["join_ref"]), ref: Self.ref(fields["ref"]), topic: topic, event: event, payload: payload
            )
        case (.v2, .array(let items)) where items.count == 5:
            guard let topic = items[2].stringValue, let event = items[3].stringValue else {
                throw PhoenixDecodingError("topic and event must be strings")
            }
            return PhoenixMessage(joinRef: Self.ref(items[0]), ref: Self.ref(items[1]), topic: topic, event: event, payload: items[4])
        case (.v1, _):
            throw PhoenixDecodingError("expected a V1 object")
        case (.v2, _):
            throw PhoenixDecodingError("expected V2 array")
        }
    }

    /// Decodes a binary frame: kind 4 (server user broadcast) and kind 3 (client user broadcast push) become
    /// the JSON `broadcast` message realtime-js would surface.
    public func decode(binary bytes: [UInt8]) throws -> PhoenixMessage {
        guard version == .v2 else { throw PhoenixDecodingError("binary frames need vsn 2.0.0") }
        var reader = ByteReader(bytes)
        guard let kindByte = reader.byte(), let kind = BinaryKind(rawValue: kindByte) else {
            throw PhoenixDecodingError("unknown binary kind")
        }
        switch kind {
        case .userBroadcast:
            guard let topicLength = reader.byte(), let eventLength = reader.byte(), let metaLength = reader.byte(),
                let encoding = reader.byte(), let topic = reader.string(topicLength), let event = reader.string(eventLength),
                let meta = reader.bytes(Int(metaLength))
            else { throw PhoenixDecodingError("truncated user broadcast") }
            let payload = try Self.broadcastPayload(event: event, meta: meta, encoding: encoding, data: reader.rest())
            return PhoenixMessage(topic: topic, event: PhoenixEvent.broadcast, payload: payload)
        case .userBroadcastPush:
            guard let joinRefLength = reader.byte(), let refLength = reader.byte(), let topicLength = reader.byte(),
                let eventLength = reader.byte(), let metaLength = reader.byte(), let encoding = reader.byte(),
                let joinRef = reader.string(joinRefLength), let ref = reader.string(refLength), let topic = reader.string(topicLength),
                let event = reader.string(eventLength), let meta = reader.bytes(Int(metaLength))
            else { throw PhoenixDecodingError("truncated user broadcast push") }
            let payload = try Self.broadcastPayload(event: event, meta: meta, encoding: encoding, data: reader.rest())
            return PhoenixMessage(
                joinRef: joinRef.isEmpty ? nil : joinRef, ref: ref.isEmpty ? nil : ref, topic: topic, event: PhoenixEvent.broadcast,
                payload: payload
            )
        default:
            throw PhoenixDecodingError("binary kind \(kind.rawValue) is not supported")
        }
    }

    /// Encodes a JSON user broadcast as a kind-4 binary frame, as Realtime sends to vsn 2.0.0 subscribers;
    /// `nil` when the topic, the event or the rendered meta is longer than the frame's one-byte lengths
    /// allow (255 bytes): send the JSON text frame instead, which carries the same broadcast.
    public func encodeUserBroadcast(topic: String, event: String, payload: JSONValue, meta: JSONValue? = nil) -> [UInt8]? {
        let metaBytes = meta?.jsonBytes ?? []
        let topicBytes = Array(topic.utf8)
        let eventBytes = Array(event.utf8)
        guard let topicLength = UInt8(exactly: topicBytes.count), let eventLength = UInt8(exactly: eventBytes.count),
            let metaLength = UInt8(exactly: metaBytes.count)
        else { return nil }
        var frame: [UInt8] = [BinaryKind.userBroadcast.rawValue, topicLength, eventLength, metaLength, 1]
        frame += topicBytes + eventBytes + metaBytes + payload.jsonBytes
        return frame
    }

    private static func broadcastPayload(event: String, meta: [UInt8], encoding: UInt8, data: [UInt8]) throws -> JSONValue {
        var fields: [String: JSONValue] = ["type": "broadcast", "event": .string(event)]
        if encoding == 1 {
            guard let value = try? JSONValue(parsing: Data(data)) else {
                throw PhoenixDecodingError("user broadcast payload is not JSON")
            }
            fields["payload"] = value
        } else {
            fields["payload"] = .string(Data(data).base64EncodedString())
        }
        if !meta.isEmpty, let value = try? JSONValue(parsing: Data(meta)) {
            fields["meta"] = value
        }
        return .object(fields)
    }

    private static func ref(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)?: text
        case .number?: value?.integerValue.map { String($0) }
        default: nil
        }
    }
}

/// Reads length-prefixed fields of a binary frame.
private struct ByteReader {
    private let bytes: [UInt8]
    private var offset = 0

    /// A reader at the start of `bytes`.
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func byte() -> UInt8? {
        guard offset < bytes.count else { return nil }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func bytes(_ count: Int) -> [UInt8]? {
        guard offset + count <= bytes.count else { return nil }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    mutating func string(_ count: UInt8) -> String? {
        bytes(Int(count)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Every byte not read yet.
    func rest() -> [UInt8] { Array(bytes[offset...]) }
}
