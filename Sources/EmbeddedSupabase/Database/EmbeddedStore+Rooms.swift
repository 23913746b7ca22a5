import Foundation
import Shared

/// The room RPCs of `20260701000003_stranger_rooms.sql`, each one critical section over queue and tables.
extension EmbeddedStore {
    /// `public.create_stranger_room`: the room row and both members, all or nothing; `23505` on a taken id.
    public func createStrangerRoom(id: String, user1: String, user2: String, createdAt: Date? = nil) throws -> Room {
        for user in [user1, user2] { try faults.check(.createRoom(user: user)) }
        return try update { tables, now in
            let room = Room(id: id, first: user1, second: user2, createdAt: createdAt ?? now)
            try Self.insertRoom(room, members: [user1, user2], into: &tables, now: now)
            return room
        }
    }

    /// `public.commit_stranger_match`: consumes the leased `msgIDs` and every other message of both
    /// users from `queue`, writes the room and members, and records the match as pending.
    ///
    /// Throws `MM003` for a user matched with themselves, `MM002` for a pair that skipped each other
    /// within `skipWindowSeconds`, `MM001` when either user has no leased message among those consumed (a
    /// registered bot needs none), `MM004` when a registered bot is not idle or its lease ended; a
    /// registered bot that commits is claimed for the room.
    public func commitStrangerMatch(
        queue: String, roomID: String, user1: String, user2: String, msgIDs: [Int64],
        claimSeconds: Int = 30, skipWindowSeconds: Int = 10, createdAt: Date? = nil
    ) throws -> Room {
        for user in [user1, user2] { try faults.check(.createRoom(user: user)) }
        let now = time.now()
        return try database.transaction { (state: inout EmbeddedDatabase.State) throws(SQLError) -> Room in
            guard user1 != user2 else {
                throw SQLError(code: "MM003", message: "a user cannot be matched with themselves")
            }
            let pair: RowFilter = .any([
                .all([Self.equals("user_a_id", user1), Self.equals("user_b_id", user2)]),
                .all([Self.equals("user_a_id", user2), Self.equals("user_b_id", user1)]),
            ])
            let window = Timestamp.format(now.addingTimeInterval(-TimeInterval(skipWindowSeconds)))
            let recent = RowFilter.all([pair, .condition(column: "created_at", op: .gte, operands: [window], negated: false)])
            guard try state.tables.select("skipped_pair", where: recent).isEmpty else {
                throw SQLError(code: "MM002", message: "the pair skipped each other recently")
            }
            guard var rows = state.queues[queue]?.rows else {
                throw SQLError(code: "42P01", message: "relation \"pgmq.q_\(queue.lowercased())\" does not exist")
            }
            let leased = Set(msgIDs)
            let users: Set<String> = [user1, user2]
            let consumed = rows.filter { leased.contains($0.msgID) || users.contains(Self.userID(of: $0) ?? "") }
            let leasedUsers = Set(consumed.filter { leased.contains($0.msgID) }.compactMap(Self.userID(of:)))
            // A registered bot needs no message: the commit claims it in the registry instead.
            let registered = users.filter { state.bots[$0] != nil }
            guard leasedUsers.isSuperset(of: users.subtracting(registered)) else {
                throw SQLError(code: "MM001", message: "lease lost: a user of the pair is no longer queued under this lease")
            }
            for bot in registered {
                guard let row = state.bots[bot], row.idle, row.leaseUntil > now else {
                    throw SQLError(code: "MM004", message: "bot \(bot) is not idle or its lease ended")
                }
                state.bots[bot]?.claim(roomID: roomID, at: now)
            }
            rows.removeAll { leased.contains($0.msgID) || users.contains(Self.userID(of: $0) ?? "") }
            state.queues[queue]!.rows = rows

            let room = Room(id: roomID, first: user1, second: user2, createdAt: createdAt ?? now)
            try Self.insertRoom(room, members: [user1, user2], into: &state.tables, now: now)
            state.outbox[roomID] = EmbeddedDatabase.PendingMatch(
                queueName: queue, room: room, users: [user1, user2], messages: consumed,
                claimedUntil: now.addingTimeInterval(TimeInterval(claimSeconds)), createdAt: now
            )
            return room
        }
    }

    /// One match of `commit_stranger_matches`.
    public struct SetWiseMatch: Sendable {
        /// The room to create.
        public var roomID: String
        /// The owner.
        public var user1: String
        /// The other user.
        public var user2: String
        /// The pair's leased messages.
        public var msgIDs: [Int64]
        /// The room's creation time, or the store's clock.
        public var createdAt: Date?

        /// Creates a match.
        public init(roomID: String, user1: String, user2: String, msgIDs: [Int64], createdAt: Date?) {
            self.roomID = roomID
            self.user1 = user1
            self.user2 = user2
            self.msgIDs = msgIDs
            self.createdAt = createdAt
        }
    }

    /// `public.commit_stranger_matches`: every match as `commitStrangerMatch` commits it, each all or
    /// nothing on its own; one verdict per match, in order: `ok` with the room, or the SQLSTATE that
    /// match raised (`MM001`–`MM004`, `23503`, `23505`). A user in two matches of the call refuses both (`MM003`).
    public func commitStrangerMatches(
        queue: String, matches: [SetWiseMatch], claimSeconds: Int = 30, skipWindowSeconds: Int = 10
    ) throws -> [(roomID: String, status: String, room: Room?)] {
        var seen: [String: Int] = [:]
        for match in matches {
            for user in [match.user1, match.user2] { seen[user, default: 0] += 1 }
        }
        return try matches.map { match in
            guard match.user1 != match.user2, seen[match.user1] == 1, seen[match.user2] == 1 else {
                return (match.roomID, "MM003", nil)
            }
            do {
                let room = try commitStrangerMatch(
                    queue: queue, roomID: match.roomID, user1: match.user1, user2: match.user2, msgIDs: match.msgIDs,
                    claimSeconds: claimSeconds, skipWindowSeconds: skipWindowSeconds, createdAt: match.createdAt)
                return (match.roomID, "ok", room)
            } catch let error as SQLError where ["MM001", "MM002", "MM003", "MM004", "23503", "23505"].contains(error.code) {
                return (match.roomID, error.code, nil)
            }
        }
    }

    /// `public.ack_stranger_matches`: the users of these rooms were told; how many matches were pending.
    public func ackStrangerMatches(roomIDs: [String]) -> Int {
        database.withLock { state in roomIDs.count { state.outbox.removeValue(forKey: $0) != nil } }
    }

    /// `public.claim_stranger_matches`: up to `limit` pending matches whose claim ran out, oldest first,
    /// each claimed for `claimSeconds` more and counted as one more attempt. Matches older than
    /// `maxAgeSeconds` are dropped unclaimed: too late to announce.
    public func claimStrangerMatches(claimSeconds: Int, limit: Int, maxAgeSeconds: Int = 600) -> [AbandonedMatch] {
        let now = time.now()
        let oldest = now.addingTimeInterval(-TimeInterval(maxAgeSeconds))
        return database.withLock { state in
            state.outbox = state.outbox.filter { $0.value.claimedUntil >= now || $0.value.createdAt >= oldest }
            let due = state.outbox.values.filter { $0.claimedUntil < now }.sorted {
                ($0.createdAt, $0.room.id) < ($1.createdAt, $1.room.id)
            }
            return due.prefix(max(limit, 0)).map { pending in
                state.outbox[pending.room.id]!.claimedUntil = now.addingTimeInterval(TimeInterval(claimSeconds))
                state.outbox[pending.room.id]!.attempts += 1
                return AbandonedMatch(
                    roomID: pending.room.id, room: pending.room, users: pending.users, attempts: state.outbox[pending.room.id]!.attempts)
            }
        }
    }

    /// Rows of `matchmaker_outbox` for `queue`: matches committed and not yet acknowledged or undone.
    public func pendingMatches(queue: String) -> Int {
        database.withLock { state in state.outbox.values.count { $0.queueName == queue } }
    }

    /// `public.ack_stranger_match`: both users were told; true when the match was pending.
    public func ackStrangerMatch(roomID: String) -> Bool {
        database.withLock { $0.outbox.removeValue(forKey: roomID) != nil }
    }

    /// `public.delete_stranger_room`: deletes the room and its members and, when its match is still
    /// pending, puts the consumed messages back (same ids, enqueue times and read counts, visible at
    /// once). True when the room existed.
    public func deleteStrangerRoom(id: String) throws -> Bool {
        let now = time.now()
        return try database.transaction { (state: inout EmbeddedDatabase.State) throws(SQLError) -> Bool in
            if let pending = state.outbox.removeValue(forKey: id) {
                guard var queue = state.queues[pending.queueName] else {
                    throw SQLError(code: "42P01", message: "relation \"pgmq.q_\(pending.queueName.lowercased())\" does not exist")
                }
                let present = Set(queue.rows.map(\.msgID))
                for var row in pending.messages where !present.contains(row.msgID) {
                    row.visibleAt = now
                    let position = queue.rows.firstIndex { $0.msgID > row.msgID } ?? queue.rows.endIndex
                    queue.rows.insert(row, at: position)
                }
                state.queues[pending.queueName] = queue
            }
            return try !state.tables.delete("room", where: Self.equals("id", id)).isEmpty
        }
    }

    /// Writes a room row and its members into `tables`.
    static func insertRoom(_ room: Room, members: [String], into tables: inout EmbeddedTables, now: Date) throws(SQLError) {
        guard case .object(let row)? = try? JSONValue(encoding: room) else { return }
        _ = try tables.insert("room", [row], now: now)
        let memberRows = members.map { ["room_id": JSONValue.string(room.id), "user_id": .string($0)] }
        _ = try tables.insert("room_member", memberRows, now: now)
    }

    /// `column = value`.
    static func equals(_ column: String, _ value: String) -> RowFilter {
        .condition(column: column, op: .eq, operands: [value], negated: false)
    }

    private static func userID(of row: QueueRow) -> String? {
        row.message["userId"]?.stringValue
    }
}
