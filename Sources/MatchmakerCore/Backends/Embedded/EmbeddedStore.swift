import Foundation
import Shared
import Synchronization

/// The tables a pass touches (`room`, `room_member`, `skipped_pair`, `user`), in memory.
public final class EmbeddedStore: Sendable {
    /// The tables.
    public struct Tables: Sendable, Hashable {
        /// `room` rows by id.
        public var rooms: [String: Room] = [:]
        /// `room_member` rows: room id → user ids.
        public var members: [String: [String]] = [:]
        /// `skipped_pair` rows.
        public var skips: [Skip] = []
        /// `user.is_bot` by user id.
        public var bots: Set<String> = []
    }

    private let tables = Mutex(Tables())
    private let faults: EmbeddedFaults

    /// Creates empty tables.
    public init(faults: EmbeddedFaults = EmbeddedFaults()) { self.faults = faults }

    /// A copy of every table.
    public var contents: Tables { tables.withLock { $0 } }

    /// Records a skip in both directions, as the app server does.
    public func addSkip(_ a: String, _ b: String, at date: Date) {
        tables.withLock {
            $0.skips.append(Skip(userA: a, userB: b, createdAt: date))
            $0.skips.append(Skip(userA: b, userB: a, createdAt: date))
        }
    }

    /// Marks a user as a bot.
    public func addBot(_ id: String) {
        _ = tables.withLock { $0.bots.insert(id) }
    }
}

extension EmbeddedStore: MatchStore {
    public func recentSkips(among users: [String], since: Date) async throws -> [Skip] {
        try faults.check(.skips)
        let wanted = Set(users)
        return tables.withLock { tables in
            tables.skips.removeAll { $0.createdAt < since }
            return tables.skips.filter { wanted.contains($0.userA) || wanted.contains($0.userB) }
        }
    }

    public func botIDs(among users: [String]) async throws -> Set<String> {
        try faults.check(.bots)
        return tables.withLock { $0.bots.intersection(users) }
    }

    public func createRoom(_ room: Room, members: [String]) async throws {
        for member in members { try faults.check(.createRoom(user: member)) }
        try tables.withLock { tables in
            guard tables.rooms[room.id] == nil else { throw DuplicateRoom(id: room.id) }
            tables.rooms[room.id] = room
            tables.members[room.id] = members
        }
    }

    public func deleteRoom(id: String) async throws {
        tables.withLock { tables in
            tables.rooms[id] = nil
            tables.members[id] = nil
        }
    }
}

/// A room id already exists (PostgreSQL 23505); retrying the same id cannot succeed.
struct DuplicateRoom: ClassifiedError, CustomStringConvertible {
    var id: String
    var failureClass: FailureClass { .fatal(pattern: "23505") }
    var description: String { "duplicate key value violates unique constraint \"room_pkey\" (id \(id))" }
}
