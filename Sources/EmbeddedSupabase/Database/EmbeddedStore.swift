import Foundation
import Shared

/// The tables of the Supabase slice in memory, and the room RPCs of `deploy/supabase/migrations/` over them.
public final class EmbeddedStore: Sendable {
    /// The tables a pass touches, typed.
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

    let database: EmbeddedDatabase
    let time: Timekeeper
    let faults: EmbeddedFaults

    /// Creates empty tables.
    public convenience init(faults: EmbeddedFaults = EmbeddedFaults(), time: Timekeeper = .system) {
        self.init(database: EmbeddedDatabase(), faults: faults, time: time)
    }

    /// Creates the table side of a shared database.
    init(database: EmbeddedDatabase, faults: EmbeddedFaults, time: Timekeeper) {
        self.database = database
        self.faults = faults
        self.time = time
    }

    /// A copy of every table the pass uses.
    public var contents: Tables {
        let rows = database.withLock { state in
            (
                rooms: state.tables.all("room"), members: state.tables.all("room_member"),
                skips: state.tables.all("skipped_pair"), users: state.tables.all("user")
            )
        }
        var tables = Tables()
        for row in rows.rooms {
            if let room = try? JSONValue.object(row).decode(as: Room.self) { tables.rooms[room.id] = room }
        }
        for row in rows.members {
            if let room = row["room_id"]?.stringValue, let user = row["user_id"]?.stringValue {
                tables.members[room, default: []].append(user)
            }
        }
        tables.skips = rows.skips.compactMap(Skip.init(row:))
        tables.bots = Set(rows.users.filter { $0["is_bot"] == true }.compactMap { $0["id"]?.stringValue })
        return tables
    }

    /// Adds a `user` row for each of `ids` that has none, as the app's sign-in does before a user can queue,
    /// skip or chat: an anonymous user (`is_anonymous`), with every column the app's table requires.
    public func addUsers(_ ids: [String]) throws {
        try update { tables, now in
            let stamp = JSONValue.string(Timestamp.format(now))
            let rows: [EmbeddedTables.Row] = ids.map { id in
                [
                    "id": .string(id), "name": .string(id), "email": .string("\(id)@anonymous.invalid"), "email_verified": false,
                    "is_anonymous": true, "created_at": stamp, "updated_at": stamp,
                ]
            }
            _ = try tables.insert("user", rows, resolution: .ignore, now: now)
        }
    }

    /// Records a skip in both directions, as the app server does.
    /// - Throws: `SQLError` `23503` when either user has no `user` row, as PostgreSQL would.
    public func addSkip(_ a: String, _ b: String, at date: Date) throws {
        let created = JSONValue.string(Timestamp.format(date))
        try update { tables, now in
            let rows: [EmbeddedTables.Row] = [
                ["user_a_id": .string(a), "user_b_id": .string(b), "created_at": created],
                ["user_a_id": .string(b), "user_b_id": .string(a), "created_at": created],
            ]
            _ = try tables.insert("skipped_pair", rows, resolution: .merge, now: now)
        }
    }

    /// Marks a user as a bot, creating a placeholder `user` row when there is none (with every column the
    /// app's table requires).
    public func addBot(_ id: String) {
        try? update { tables, now in
            let bot: RowFilter = .condition(column: "id", op: .eq, operands: [id], negated: false)
            if try tables.update("user", set: ["is_bot": true], where: bot).isEmpty {
                let stamp = JSONValue.string(Timestamp.format(now))
                let row: EmbeddedTables.Row = [
                    "id": .string(id), "name": .string(id), "email": .string("\(id)@bot.internal"), "email_verified": true,
                    "created_at": stamp, "updated_at": stamp, "is_bot": true,
                ]
                _ = try tables.insert("user", [row], now: now)
            }
        }
    }

    /// Runs table operations in one critical section, as one transaction: all of them or none.
    func update<T: Sendable>(_ body: (inout EmbeddedTables, Date) throws -> T) throws -> T {
        let now = time.now()
        return try database.transaction { (state: inout EmbeddedDatabase.State) throws -> T in
            let result = try body(&state.tables, now)
            // `matchmaker_outbox.room_id` references `room` with `on delete cascade`.
            if !state.outbox.isEmpty {
                let rooms = Set(state.tables.all("room").compactMap { $0["id"]?.stringValue })
                state.outbox = state.outbox.filter { rooms.contains($0.key) }
            }
            return result
        }
    }
}

/// The queries a pass makes, one critical section each; its writes are the room RPCs (`EmbeddedStore+Rooms`).
extension EmbeddedStore {
    /// `skipped_pair` rows involving any of `users` created at or after `since`; older rows are deleted.
    public func recentSkips(among users: [String], since: Date) async throws -> [Skip] {
        try faults.check(.skips)
        let cutoff = Timestamp.format(since)
        let rows = try update { tables, _ in
            _ = try tables.delete("skipped_pair", where: .condition(column: "created_at", op: .lt, operands: [cutoff], negated: false))
            return try tables.select(
                "skipped_pair",
                where: .any([
                    .condition(column: "user_a_id", op: .in, operands: users, negated: false),
                    .condition(column: "user_b_id", op: .in, operands: users, negated: false),
                ]))
        }
        return rows.compactMap(Skip.init(row:))
    }

    /// Which of `users` are bots (`user.is_bot = true`).
    public func botIDs(among users: [String]) async throws -> Set<String> {
        try faults.check(.bots)
        let rows = try update { tables, _ in
            try tables.select(
                "user",
                where: .all([
                    .condition(column: "id", op: .in, operands: users, negated: false),
                    .condition(column: "is_bot", op: .is, operands: ["true"], negated: false),
                ]))
        }
        return Set(rows.compactMap { $0["id"]?.stringValue })
    }
}

extension Skip {
    /// A `skipped_pair` row as a skip.
    init?(row: EmbeddedTables.Row) {
        guard let a = row["user_a_id"]?.stringValue, let b = row["user_b_id"]?.stringValue,
            let created = row["created_at"]?.stringValue.flatMap(Timestamp.parse)
        else { return nil }
        self.init(userA: a, userB: b, createdAt: created)
    }
}
