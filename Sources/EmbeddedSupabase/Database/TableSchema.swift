import Foundation
import Shared

/// One embedded table's columns and keys, as the app's schema has them (`Tests/sql/app-schema.sql`; the
/// migrations create the same where a table is missing).
struct TableSchema: Sendable {
    /// A column's SQL type, as far as casting and comparing need it.
    enum ColumnType: String, Sendable {
        case text
        case boolean
        case integer
        case timestamptz = "timestamp with time zone"
        case timestamp = "timestamp without time zone"
    }

    /// A column.
    struct Column: Sendable {
        var name: String
        var type: ColumnType
        var nullable = true
        /// `default now()`.
        var defaultsToNow = false
        /// A constant default; `nil` means null.
        var defaultValue: JSONValue?
        /// `varchar(n)`: the most characters a value may have.
        var maxLength: Int?

        /// The type as PostgreSQL names it in errors: `character varying(24)`, `text`, ….
        var typeName: String { maxLength.map { "character varying(\($0))" } ?? type.rawValue }
    }

    /// A unique constraint: PostgreSQL's name and its columns.
    struct UniqueKey: Sendable {
        var name: String
        var columns: [String]
    }

    /// A foreign key of this table: `column` references `table.references`. Deleting or re-keying a
    /// referenced row cascades to the referencing rows (`on delete cascade`) or fails (`no action`).
    struct ForeignKey: Sendable {
        /// drizzle-kit's name: `<table>_<column>_<referenced table>_<referenced column>_fk`.
        var name: String
        /// The referencing column of this table.
        var column: String
        /// The referenced table.
        var table: String
        /// The referenced column.
        var references: String = "id"
        /// `on delete cascade`; otherwise `no action`.
        var cascades = false
    }

    var name: String
    var columns: [Column]
    /// The primary key first, then other unique constraints.
    var keys: [UniqueKey]
    var foreignKeys: [ForeignKey] = []

    /// The column named `name`.
    func column(_ name: String) -> Column? { columns.first { $0.name == name } }

    /// The primary key.
    var primaryKey: UniqueKey { keys[0] }

    /// The foreign keys of every table that reference this one, with their table, in the order the app's
    /// schema creates them (the order PostgreSQL checks them in).
    var referencedBy: [(table: TableSchema, key: ForeignKey)] {
        Self.ordered.flatMap { other in
            other.foreignKeys.filter { $0.table == name }.map { (table: other, key: $0) }
        }
    }
}

extension TableSchema {
    /// The six tables of the Supabase slice, in the order the app's schema creates them.
    static let ordered = [user, room, roomMember, message, skippedPair, botAnalytics]

    /// The six tables by name.
    static let all: [String: TableSchema] = Dictionary(uniqueKeysWithValues: ordered.map { ($0.name, $0) })

    /// The app's `user` (better-auth with the bot columns): `email_verified`, `created_at` and `updated_at` are
    /// NOT NULL without a default, as drizzle left them, so a writer that omits one fails with `23502`.
    static let user = TableSchema(
        name: "user",
        columns: [
            Column(name: "id", type: .text, nullable: false),
            Column(name: "name", type: .text, nullable: false),
            Column(name: "email", type: .text, nullable: false),
            Column(name: "email_verified", type: .boolean, nullable: false),
            Column(name: "image", type: .text),
            Column(name: "bio", type: .text),
            Column(name: "role", type: .text, defaultValue: "user"),
            Column(name: "banned", type: .boolean),
            Column(name: "ban_reason", type: .text),
            Column(name: "ban_expires", type: .timestamp),
            Column(name: "is_anonymous", type: .boolean),
            Column(name: "created_at", type: .timestamp, nullable: false),
            Column(name: "updated_at", type: .timestamp, nullable: false),
            Column(name: "is_bot", type: .boolean),
            Column(name: "bot_profile", type: .text),
            Column(name: "last_active", type: .timestamp),
        ],
        keys: [UniqueKey(name: "user_pkey", columns: ["id"]), UniqueKey(name: "user_email_unique", columns: ["email"])]
    )

    static let room = TableSchema(
        name: "room",
        columns: [
            Column(name: "id", type: .text, nullable: false, maxLength: 24),
            Column(name: "name", type: .text, nullable: false),
            Column(name: "isDM", type: .boolean, nullable: false, defaultValue: false),
            Column(name: "owner_id", type: .text, nullable: false),
            Column(name: "created_at", type: .timestamptz, nullable: false, defaultsToNow: true),
            Column(name: "is_locked", type: .boolean, nullable: false, defaultValue: false),
        ],
        keys: [UniqueKey(name: "room_pkey", columns: ["id"])],
        foreignKeys: [ForeignKey(name: "room_owner_id_user_id_fk", column: "owner_id", table: "user")]
    )

    static let roomMember = TableSchema(
        name: "room_member",
        columns: [
            Column(name: "room_id", type: .text, nullable: false, maxLength: 24),
            Column(name: "user_id", type: .text, nullable: false),
            Column(name: "joined_at", type: .timestamptz, defaultsToNow: true),
            Column(name: "last_read_at", type: .timestamptz, nullable: false, defaultsToNow: true),
        ],
        keys: [UniqueKey(name: "room_member_pkey", columns: ["room_id", "user_id"])],
        foreignKeys: [
            ForeignKey(name: "room_member_room_id_room_id_fk", column: "room_id", table: "room", cascades: true),
            ForeignKey(name: "room_member_user_id_user_id_fk", column: "user_id", table: "user"),
        ]
    )

    static let message = TableSchema(
        name: "message",
        columns: [
            Column(name: "id", type: .text, nullable: false, maxLength: 24),
            Column(name: "room_id", type: .text, nullable: false, maxLength: 24),
            Column(name: "sender_id", type: .text, nullable: false),
            Column(name: "content", type: .text, nullable: false),
            Column(name: "created_at", type: .timestamptz, defaultsToNow: true),
        ],
        keys: [UniqueKey(name: "message_pkey", columns: ["id"])],
        foreignKeys: [
            ForeignKey(name: "message_room_id_room_id_fk", column: "room_id", table: "room", cascades: true),
            ForeignKey(name: "message_sender_id_user_id_fk", column: "sender_id", table: "user"),
        ]
    )

    static let skippedPair = TableSchema(
        name: "skipped_pair",
        columns: [
            Column(name: "user_a_id", type: .text, nullable: false),
            Column(name: "user_b_id", type: .text, nullable: false),
            Column(name: "created_at", type: .timestamptz, nullable: false, defaultsToNow: true),
        ],
        keys: [UniqueKey(name: "skipped_pair_pkey", columns: ["user_a_id", "user_b_id"])],
        foreignKeys: [
            ForeignKey(name: "skipped_pair_user_a_id_user_id_fk", column: "user_a_id", table: "user", cascades: true),
            ForeignKey(name: "skipped_pair_user_b_id_user_id_fk", column: "user_b_id", table: "user", cascades: true),
        ]
    )

    static let botAnalytics = TableSchema(
        name: "bot_analytics",
        columns: [
            Column(name: "id", type: .text, nullable: false, maxLength: 24),
            Column(name: "bot_id", type: .text, nullable: false),
            Column(name: "conversation_id", type: .text, nullable: false, maxLength: 24),
            Column(name: "messages_exchanged", type: .integer, nullable: false),
            Column(name: "conversation_duration", type: .integer, nullable: false),
            Column(name: "human_skipped", type: .boolean, nullable: false),
            Column(name: "bot_skipped", type: .boolean, nullable: false),
            Column(name: "created_at", type: .timestamptz, defaultsToNow: true),
        ],
        keys: [UniqueKey(name: "bot_analytics_pkey", columns: ["id"])],
        // Neither cascades: a room or a bot with analytics cannot be deleted before them.
        foreignKeys: [
            ForeignKey(name: "bot_analytics_bot_id_user_id_fk", column: "bot_id", table: "user"),
            ForeignKey(name: "bot_analytics_conversation_id_room_id_fk", column: "conversation_id", table: "room"),
        ]
    )
}

extension TableSchema.ColumnType {
    /// Casts a JSON value to this type the way PostgreSQL casts PostgREST's input; null stays null.
    func cast(_ value: JSONValue) throws(SQLError) -> JSONValue {
        switch (self, value) {
        case (_, .null):
            return .null
        case (.text, .string):
            return value
        case (.text, .number), (.text, .bool):
            return .string(Self.render(value))
        case (.boolean, .bool):
            return value
        case (.boolean, .string(let text)):
            switch text.lowercased().trimmingCharacters(in: .whitespaces) {
            case "t", "true", "yes", "on", "1": return .bool(true)
            case "f", "false", "no", "off", "0": return .bool(false)
            default: throw invalid(value)
            }
        case (.integer, .number(let number)):
            return .number(JSONNumber(try integer(number, value)))
        case (.integer, .string(let text)):
            guard let number = JSONNumber(literal: text.trimmingCharacters(in: .whitespaces)), number.isIntegerLiteral else {
                throw invalid(value)
            }
            return .number(JSONNumber(try integer(number, value)))
        case (.timestamptz, .string(let text)), (.timestamp, .string(let text)):
            // A `+hh:mm` offset sent unencoded in a query string arrives as a space.
            let offset = text.replacingOccurrences(of: #"(:\d\d(\.\d+)?) (\d\d:\d\d)$"#, with: "$1+$3", options: .regularExpression)
            do {
                return .string(format(try PostgresTimestamp.parse(offset, withTimeZone: self == .timestamptz)))
            } catch {
                // The error names the text as sent.
                throw SQLError(code: error.code, message: error.message.replacingOccurrences(of: offset, with: text))
            }
        default:
            throw invalid(value)
        }
    }

    /// A date in this column's text form: `timestamptz` with `+00:00`, `timestamp` without an offset.
    func format(_ date: Date) -> String {
        let text = Timestamp.format(date)
        return self == .timestamp ? String(text.dropLast("+00:00".count)) : text
    }

    /// Orders two non-null values of this type.
    func less(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (self, a, b) {
        case (.integer, .number(let x), .number(let y)): return x < y
        case (.boolean, .bool(let x), .bool(let y)): return !x && y
        case (.timestamptz, .string(let x), .string(let y)), (.timestamp, .string(let x), .string(let y)):
            return (Timestamp.parse(x) ?? .distantPast) < (Timestamp.parse(y) ?? .distantPast)
        default: return Self.render(a) < Self.render(b)
        }
    }

    /// A whole number as `integer` (int4) holds it: a fraction is 22P02, a value beyond 32 bits 22003,
    /// as PostgreSQL says, never a rounded `Double`.
    private func integer(_ number: JSONNumber, _ value: JSONValue) throws(SQLError) -> Int32 {
        guard number.isWholeNumber else { throw invalid(value) }
        guard let whole = number.int64Value.flatMap({ Int32(exactly: $0) }) else {
            throw SQLError(code: "22003", message: "value \"\(Self.render(value))\" is out of range for type integer")
        }
        return whole
    }

    private func invalid(_ value: JSONValue) -> SQLError {
        let code = self == .timestamp || self == .timestamptz ? "22007" : "22P02"
        return SQLError(code: code, message: "invalid input syntax for type \(rawValue): \"\(Self.render(value))\"")
    }

    /// The value as PostgreSQL text.
    static func render(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): text
        case .bool(let flag): flag ? "true" : "false"
        case .null: ""
        default: value.jsonText
        }
    }
}
