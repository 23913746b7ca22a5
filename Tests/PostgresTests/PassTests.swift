import EmbeddedSupabase
import Foundation
import MatchmakerCore
import PostgresNIO
import Shared
import Testing

extension PostgresSuite {
    /// One queued message of the shared scenario.
    struct Queued {
        var body: String
        var age: Double
    }

    /// The outcome of one pass, comparable across backends.
    struct Outcome: Equatable {
        var counts: [String: Int]
        var rooms: [String]
        var notifications: [String]
        var remaining: [String]
        var archived: Int
    }

    /// Continental pools, a duplicate, a malformed message, a recent skip, a bot fill, a stale user and an expiry.
    static func scenario(_ p: String) -> (queue: [Queued], skips: [(String, String)], bots: Set<String>, presence: PresenceSnapshot) {
        func user(_ id: String, _ continent: String? = nil) -> String {
            continent.map { #"{"userId":"\#(p)\#(id)","continent":"\#($0)"}"# } ?? #"{"userId":"\#(p)\#(id)"}"#
        }
        let queue = [
            Queued(body: user("h1", "Europe"), age: 20), Queued(body: user("h2", "Europe"), age: 19),
            Queued(body: user("h3", "Asia"), age: 75), Queued(body: user("h4"), age: 17),
            Queued(body: user("h5", "World"), age: 16), Queued(body: user("h1", "Europe"), age: 15),
            Queued(body: #"{"foo":1}"#, age: 14), Queued(body: user("b1"), age: 13),
            Queued(body: user("h6", "Mars"), age: 12), Queued(body: user("h7"), age: 11),
            Queued(body: user("h8"), age: 10), Queued(body: user("h10"), age: 40),
        ]
        var state: [String: [JSONValue]] = [:]
        for id in ["h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8"] { state["\(p)\(id)"] = [["status": "waiting"]] }
        state["\(p)b1"] = [["user_id": .string("\(p)b1"), "status": "waiting"]]
        state["\(p)h10"] = [["status": "idle"]]
        return (queue, [("\(p)h4", "\(p)h5"), ("\(p)h8", "\(p)h3")], ["\(p)b1"], .available(state))
    }

    static func outcome(report: PassReport, notifications: [UserNotification], remaining: [String], archived: Int) -> Outcome {
        Outcome(
            counts: [
                "total": report.totalUsers, "rooms": report.pairedRooms, "unprocessed": report.unprocessedUsers,
                "expired": report.expired, "stale": report.stale, "malformed": report.malformed,
                "duplicates": report.duplicates, "botFills": report.botFills, "undone": report.undone,
            ],
            rooms: report.rooms.map { "\($0.id) \($0.name) \($0.ownerID) \($0.isDM) \($0.isLocked)" }.sorted(),
            notifications: notifications.map { "\($0.userID) \($0.event) \($0.payload["room"]?["id"]?.stringValue ?? "-")" }.sorted(),
            remaining: remaining.sorted(),
            archived: archived
        )
    }

    @Test func aPassOnPostgresDecidesExactlyLikeTheEmbeddedBackend() async throws {
        let prefix = TestDatabase.uniquePrefix("eq")
        let queueName = "\(prefix)-q"
        let world = Self.scenario(prefix)
        let settings = {
            var settings = MatchPass.Settings()
            settings.attemptTimeout = nil
            return settings
        }()
        let now = Date()

        // The same users on both: the room's foreign keys need them.
        let users = ["h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h10", "b1"].map { prefix + $0 }
        let embedded = EmbeddedBackend(queueName: queueName)
        try embedded.store.addUsers(users)
        for message in world.queue {
            let body = try JSONCoding.decoder.decode(JSONValue.self, from: Data(message.body.utf8))
            _ = try embedded.pgmq.insert(queueName, message: body, enqueuedAt: now.addingTimeInterval(-message.age))
        }
        for (a, b) in world.skips { try embedded.store.addSkip(a, b, at: now) }
        for bot in world.bots { embedded.store.addBot(bot) }
        embedded.presence.set(world.presence)
        let embeddedReport = try await MatchPass(
            ports: embedded.ports, settings: settings, roomIDs: RoomIDSource(seed: 42), logger: TestDatabase.logger
        ).run()
        let expected = Self.outcome(
            report: embeddedReport, notifications: embedded.notifier.log,
            remaining: embedded.pgmq.rows(queueName).compactMap { $0.message["userId"]?.stringValue },
            archived: embedded.pgmq.archived(queueName).count
        )

        let actual = try await TestDatabase.withClient { client in
            try await client.createUsers(users, bots: world.bots)
            try await client.createQueue(queueName)
            for message in world.queue { _ = try await client.enqueue(queueName, body: message.body, age: message.age) }
            for (a, b) in world.skips {
                try await client.command(
                    "insert into public.skipped_pair (user_a_id, user_b_id) values (\(a), \(b)), (\(b), \(a))", logger: TestDatabase.logger
                )
            }
            let backend = PostgresBackend(client: client, queueName: queueName, logger: TestDatabase.logger)
            let notifier = EmbeddedNotifier()
            let report = try await MatchPass(
                ports: backend.ports(presence: EmbeddedPresence(world.presence), notifier: notifier), settings: settings,
                roomIDs: RoomIDSource(seed: 42), logger: TestDatabase.logger
            ).run()
            let table = "\"q_\(queueName)\""
            var remaining: [String] = []
            for try await user in try await client.query(
                "select message ->> 'userId' from pgmq.\(unescaped: table) where message ? 'userId'", logger: TestDatabase.logger
            ).decode(String.self) {
                remaining.append(user)
            }
            let archived = try await client.count("select count(*) from pgmq.\(unescaped: "\"a_\(queueName)\"")")
            #expect(try await client.count("select count(*) from public.matchmaker_outbox where users[1] like \(prefix + "%")") == 0)
            for room in report.rooms {
                #expect(try await client.count("select count(*) from public.room_member where room_id = \(room.id)") == 2)
            }
            return Self.outcome(report: report, notifications: notifier.log, remaining: remaining, archived: archived)
        }

        #expect(expected.counts["rooms"] == 4, "the scenario pairs four rooms")
        #expect(expected.counts["expired"] == 1 && expected.counts["stale"] == 1 && expected.counts["botFills"] == 1)
        #expect(actual == expected)
    }
}
