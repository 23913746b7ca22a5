import Foundation

/// One row of pgmq's `message_record`, as `read` and `pop` return it through PostgREST.
public struct QueueRow: Codable, Sendable, Hashable {
    /// pgmq's message id: FIFO order within a queue.
    public var msgID: Int64
    /// How many times the message has been read (leased).
    public var readCount: Int
    /// When the message was sent.
    public var enqueuedAt: Date
    /// When the message becomes visible again.
    public var visibleAt: Date
    /// The message body, untouched.
    public var message: JSONValue
    /// pgmq ≥ 1.5 headers, when present.
    public var headers: JSONValue?

    /// Creates a row.
    public init(
        msgID: Int64, readCount: Int, enqueuedAt: Date, visibleAt: Date, message: JSONValue,
        headers: JSONValue? = nil
    ) {
        self.msgID = msgID
        self.readCount = readCount
        self.enqueuedAt = enqueuedAt
        self.visibleAt = visibleAt
        self.message = message
        self.headers = headers
    }

    enum CodingKeys: String, CodingKey {
        case msgID = "msg_id"
        case readCount = "read_ct"
        case enqueuedAt = "enqueued_at"
        case visibleAt = "vt"
        case message
        case headers
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        msgID = try container.decode(Int64.self, forKey: .msgID)
        readCount = try container.decode(Int.self, forKey: .readCount)
        enqueuedAt = try container.decodeTimestamp(forKey: .enqueuedAt)
        visibleAt = try container.decodeTimestamp(forKey: .visibleAt)
        message = try container.decode(JSONValue.self, forKey: .message)
        headers = try container.decodeIfPresent(JSONValue.self, forKey: .headers)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(msgID, forKey: .msgID)
        try container.encode(readCount, forKey: .readCount)
        try container.encode(Timestamp.format(enqueuedAt), forKey: .enqueuedAt)
        try container.encode(Timestamp.format(visibleAt), forKey: .visibleAt)
        try container.encode(message, forKey: .message)
        try container.encode(headers ?? .null, forKey: .headers)
    }
}

extension KeyedDecodingContainer {
    /// Decodes a PostgreSQL timestamp string.
    public func decodeTimestamp(forKey key: Key) throws -> Date {
        let text = try decode(String.self, forKey: key)
        guard let date = Timestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "not a timestamp: \(text)")
        }
        return date
    }
}
