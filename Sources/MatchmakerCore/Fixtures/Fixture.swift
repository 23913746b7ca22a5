import EmbeddedSupabase
import Foundation
import Shared

/// A whole pass on the embedded backend, recorded as JSON: the world before, and what must follow.
///
/// Times are ages in seconds before `now`, so a fixture reads like a story ("u1 enqueued 12 s ago").
public struct Fixture: Codable, Sendable {
    /// A short name.
    public var name: String
    /// What the fixture proves.
    public var description: String
    /// The pass's instant.
    public var now: String
    /// Settings that differ from the defaults.
    public var config: Config = Config()
    /// Queue rows before the pass, in `msg_id` order (ids are 1, 2, 3, …).
    public var queue: [Message] = []
    /// The lobby, or why it is unavailable.
    public var presence: Presence
    /// `skipped_pair` rows.
    public var skips: [SkipRow] = []
    /// Ids with `user.is_bot = true`; each gets a `user` row.
    public var bots: [String] = []
    /// The app's signed-in users: each gets a `user` row before the queue is read. Absent, every user id a
    /// queue message or a skip names is one, since the app lets only signed-in users queue and skip;
    /// listed, exactly these are (the bots aside), so a fixture can queue a user the database does not
    /// know, which PostgreSQL's foreign keys then refuse to put in a room.
    public var users: [String]?
    /// Failures to inject.
    public var faults: Faults = Faults()
    /// The outcome that must follow; absent until written with `replay --update`.
    public var expected: Outcome?

    enum CodingKeys: String, CodingKey {
        case name, description, now, config, queue, presence, skips, bots, users, faults, expected
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        description = try container.decode(String.self, forKey: .description)
        now = try container.decode(String.self, forKey: .now)
        config = try container.decodeIfPresent(Config.self, forKey: .config) ?? Config()
        queue = try container.decodeIfPresent([Message].self, forKey: .queue) ?? []
        presence = try container.decode(Presence.self, forKey: .presence)
        skips = try container.decodeIfPresent([SkipRow].self, forKey: .skips) ?? []
        bots = try container.decodeIfPresent([String].self, forKey: .bots) ?? []
        users = try container.decodeIfPresent([String].self, forKey: .users)
        faults = try container.decodeIfPresent(Faults.self, forKey: .faults) ?? Faults()
        expected = try container.decodeIfPresent(Outcome.self, forKey: .expected)
    }

    /// Pass settings a fixture may change.
    public struct Config: Codable, Sendable, Hashable {
        public var skipWindow: Double?
        public var staleAfter: Double?
        public var botFillAfter: Double?
        public var queueTTL: Double?
        public var leaseSeconds: Int?
        public var batchSize: Int?
        public var notifyMaxRetries: Int?
        /// Seeds room ids and jitter.
        public var seed: UInt64?

        public init() {}
    }

    /// A queue message before the pass.
    public struct Message: Codable, Sendable, Hashable {
        /// The body, possibly malformed on purpose.
        public var message: JSONValue
        /// Seconds since it was sent.
        public var age: Double
        /// Earlier reads.
        public var readCount: Int?
        /// Seconds until it becomes visible (leased by someone else); absent means visible.
        public var leasedFor: Double?
    }

    /// The lobby: exactly one of `state` or `unavailable`.
    public struct Presence: Codable, Sendable, Hashable {
        /// Presence key → metas.
        public var state: [String: [JSONValue]]?
        /// Why presence is unavailable.
        public var unavailable: String?
    }

    /// A skip, `age` seconds ago.
    public struct SkipRow: Codable, Sendable, Hashable {
        public var a: String
        public var b: String
        public var age: Double
    }

    /// Scripts of outcomes (`ok`, `error`, `rate_limited`, `timeout`, `unauthorized`); the last repeats.
    public struct Faults: Codable, Sendable, Hashable {
        public var read: [EmbeddedFaults.Outcome]?
        public var delete: [EmbeddedFaults.Outcome]?
        public var skips: [EmbeddedFaults.Outcome]?
        public var bots: [EmbeddedFaults.Outcome]?
        /// By user id.
        public var notify: [String: [EmbeddedFaults.Outcome]]?
        /// By user id: writing any room with this user.
        public var createRoom: [String: [EmbeddedFaults.Outcome]]?

        public init() {}
    }

    /// What a pass leaves behind.
    public struct Outcome: Codable, Sendable, Hashable {
        /// The function endpoint's status.
        public var status: Int
        /// The function endpoint's body.
        public var response: JSONValue
        /// Notifications delivered, sorted by user, event and payload.
        public var notifications: [UserNotification]
        /// Rooms in the store afterwards, with their members.
        public var rooms: [RoomWithMembers]
        /// Messages still queued afterwards.
        public var queue: [Remaining]
        /// Messages archived.
        public var archived: [Int64]
        /// Every notification attempt, failed ones included, grouped by user (in user order) and in attempt
        /// order within a user. Present only when the fixture scripts notification faults (`faults.notify`),
        /// so that retries are part of what such a fixture checks.
        public var notificationAttempts: [NotificationAttempt]?
    }

    /// A room and its member ids.
    public struct RoomWithMembers: Codable, Sendable, Hashable {
        public var room: Room
        public var members: [String]
    }

    /// A message left in the queue.
    public struct Remaining: Codable, Sendable, Hashable {
        public var msgID: Int64
        public var readCount: Int
        /// True while hidden by a lease.
        public var leased: Bool

        /// Creates a remaining-message record.
        public init(msgID: Int64, readCount: Int, leased: Bool) {
            self.msgID = msgID
            self.readCount = readCount
            self.leased = leased
        }

        enum CodingKeys: String, CodingKey {
            case msgID = "msg_id"
            case readCount = "read_ct"
            case leased
        }
    }
}
