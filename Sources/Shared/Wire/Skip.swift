import Foundation

/// A `skipped_pair` row: `userA` skipped `userB` (or was skipped by them) at `createdAt`.
public struct Skip: Sendable, Hashable, Codable {
    /// One user.
    public var userA: String
    /// The other user.
    public var userB: String
    /// When the skip happened.
    public var createdAt: Date

    /// Creates a skip record.
    public init(userA: String, userB: String, createdAt: Date) {
        self.userA = userA
        self.userB = userB
        self.createdAt = createdAt
    }
}
