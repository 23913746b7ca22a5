import Foundation

/// A `room` row exactly as PostgREST returns it, and as `stranger_matched` carries it.
public struct Room: Codable, Sendable, Hashable {
    /// A cuid2-shaped id (24 characters).
    public var id: String
    /// `"<user1>-<user2>"`.
    public var name: String
    /// Always true for stranger rooms; the column is the quoted camelCase `"isDM"`.
    public var isDM: Bool
    /// Always false for stranger rooms.
    public var isLocked: Bool
    /// user1, the user with the earlier queue message.
    public var ownerID: String
    /// When the room was written.
    public var createdAt: Date

    /// Creates the room for two users; `first` is the one with the earlier message.
    public init(id: String, first: String, second: String, createdAt: Date) {
        self.id = id
        self.name = "\(first)-\(second)"
        self.isDM = true
        self.isLocked = false
        self.ownerID = first
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, isDM
        case isLocked = "is_locked"
        case ownerID = "owner_id"
        case createdAt = "created_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        isDM = try container.decode(Bool.self, forKey: .isDM)
        isLocked = try container.decode(Bool.self, forKey: .isLocked)
        ownerID = try container.decode(String.self, forKey: .ownerID)
        createdAt = try container.decodeTimestamp(forKey: .createdAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(isDM, forKey: .isDM)
        try container.encode(isLocked, forKey: .isLocked)
        try container.encode(ownerID, forKey: .ownerID)
        try container.encode(Timestamp.format(createdAt), forKey: .createdAt)
    }
}
