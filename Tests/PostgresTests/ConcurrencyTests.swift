import Foundation
import MatchmakerCore
import PostgresNIO
import Shared
import Testing

extension PostgresSuite {
    /// What a concurrency run measured.
    struct RunNumbers: Codable {
        var users: Int
        var messages: Int
        var matchers: Int
        var rooms: Int
        var expired: Int
        var stillQueued: Int
        var seconds: Double
        var pairsPerSecond: Double
        var pairingSeconds: Double
        var pairsPerSecondWhilePairing: Double
        var usersPerSecond: Double
        var passes: Int
    }

    /// Eight matchers, each with its own pool, over one queue: the database alone keeps them apart.
    ///
    /// `MATCHMAKER_CONCURRENCY_USERS` sets the size (2,000 by default; the benchmark uses 10,000) and
    /// `MATCHMAKER_BENCH_OUT` a file for the numbers.
    @Test func eightMatchersNeverDoubleMatchOrLoseAUser() async throws {
        let environment = ProcessInfo.processInfo.environment
        let userCount = environment["MATCHMAKER_CONCURRENCY_USERS"].flatMap(Int.init) ?? 2_000
        let matchers = 8
        let prefix = TestDatabase.uniquePrefix("cc")
        let queueName = "\(prefix)-q"
        var generator = SystemRandomNumberGenerator()

        // 5 % bots; about 4 % of humans skipped their FIFO neighbour just now and re-enqueued; a few duplicates.
        let users = (0..<userCount).map { "\(prefix)u\($0)" }
        let bots = Set(users.enumerated().filter { $0.offset % 20 == 7 }.map(\.element))
        let humans = users.filter { !bots.contains($0) }
        var seedSkips: [(String, String)] = []
        for index in stride(from: 0, to: humans.count - 1, by: 50) { seedSkips.append((humans[index], humans[index + 1])) }
        let continents = ["World", "World", "World", "Europe", "Asia", "North America", "South America", "Africa", "Oceania", ""]
        var seedMessages: [(user: String, body: String, age: Double)] = users.map { user in
            let continent = continents.randomElement(using: &generator)!
            return (user, #"{"userId":"\#(user)","continent":"\#(continent)"}"#, Double.random(in: 0...5, using: &generator))
        }
        for (a, b) in seedSkips { seedMessages += [(a, #"{"userId":"\#(a)"}"#, 0), (b, #"{"userId":"\#(b)"}"#, 0)] }
        for user in users.shuffled(using: &generator).prefix(userCount / 50) {
            seedMessages.append((user, #"{"userId":"\#(user)","continent":"World"}"#, 0))
        }

        let settings = {
            var settings = MatchPass.Settings()
            settings.leaseSeconds = 2
            settings.batchSize = 100
            settings.policy = MatchPolicy(skipWindow: 10, staleAfter: 30, botFillAfter: 5, queueTTL: 8)
            return settings
        }()
        let (messages, skips) = (seedMessages, seedSkips)
        var state: [String: [JSONValue]] = [:]
        for user in users {
            state[user] = bots.contains(user) ? [["user_id": .string(user), "status": "waiting"]] : [["status": "waiting"]]
        }
        let presence = EmbeddedPresence(.available(state))
        let notifier = EmbeddedNotifier()

        try await TestDatabase.withClient { client in
            try await client.createUsers(users, bots: bots)
            try await client.createQueue(queueName)
            let (a, b) = (skips.map(\.0), skips.map(\.1))
            try await client.command(
                """
                insert into public.skipped_pair (user_a_id, user_b_id)
                select x, y from unnest(\(a + b)::text[], \(b + a)::text[]) as t (x, y)
                """,
                logger: TestDatabase.logger
            )
            let table = "\"q_\(queueName)\""
            try await client.command(
                """
                insert into pgmq.\(unescaped: table) (enqueued_at, vt, message)
                select now() - make_interval(secs => age), now(), body::jsonb
                from unnest(\(messages.map(\.body))::text[], \(messages.map(\.age))::float8[]) with ordinality as t (body, age, ord)
                order by ord
                """,
                logger: TestDatabase.logger
            )
        }

        let started = ContinuousClock.now
        let deadline = started + .seconds(120)
        let passes = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<matchers {
                group.addTask {
                    try await TestDatabase.withClient(maximumConnections: settings.commitConcurrency + 2) { client in
                        let backend = PostgresBackend(client: client, queueName: queueName, logger: TestDatabase.logger)
                        let pass = MatchPass(
                            ports: backend.ports(presence: presence, notifier: notifier), settings: settings, logger: TestDatabase.logger
                        )
                        var passes = 0
                        while ContinuousClock.now < deadline {
                            let report = try await pass.run()
                            passes += 1
                            if report.totalUsers == 0 {
                                if try await client.count("select count(*) from pgmq.\(unescaped: "\"q_\(queueName)\"")") == 0 { break }
                                try await Task.sleep(for: .milliseconds(200))
                            }
                        }
                        return passes
                    }
                }
            }
            var total = 0
            for try await count in group { total += count }
            return total
        }
        let elapsed = (ContinuousClock.now - started).seconds

        // Accounting.
        let (rooms, queued, outbox, pairingSeconds) = try await TestDatabase.withClient { client in
            var rooms: [String: [String]] = [:]
            let rows = try await client.query(
                """
                select m.room_id, m.user_id from public.room_member m join public.room r on r.id = m.room_id
                where r.owner_id like \(prefix + "%")
                """,
                logger: TestDatabase.logger
            )
            for try await (room, user) in rows.decode((String, String).self) { rooms[room, default: []].append(user) }
            var queued: [String: Int] = [:]
            for try await user in try await client.query(
                "select message ->> 'userId' from pgmq.\(unescaped: "\"q_\(queueName)\"")", logger: TestDatabase.logger
            ).decode(String.self) {
                queued[user, default: 0] += 1
            }
            let outbox = try await client.count("select count(*) from public.matchmaker_outbox where users[1] like \(prefix + "%")")
            // A skip blocks the pair for the window after it; a room made later is allowed.
            let skippedRooms = try await client.count(
                """
                select count(*) from public.room r
                join public.room_member a on a.room_id = r.id join public.room_member b on b.room_id = r.id and a.user_id < b.user_id
                join public.skipped_pair s on s.user_a_id = a.user_id and s.user_b_id = b.user_id
                where r.owner_id like \(prefix + "%") and r.created_at < s.created_at + make_interval(secs => \(settings.policy.skipWindow))
                """
            )
            #expect(skippedRooms == 0, "rooms for pairs that had just skipped each other")
            // From the first room to the last: the run without its tail of users waiting to expire.
            var span = 0.0
            for try await seconds in try await client.query(
                "select coalesce(extract(epoch from max(created_at) - min(created_at)), 0)::float8 from public.room where owner_id like \(prefix + "%")",
                logger: TestDatabase.logger
            ).decode(Double.self) {
                span = seconds
            }
            return (rooms, queued, outbox, span)
        }
        let log = notifier.log.filter { $0.userID.hasPrefix(prefix) }
        let matchedRooms = Set(
            log.filter { $0.event == "stranger_matched" }.compactMap { n in
                n.payload["room"]?["id"]?.stringValue.map { "\(n.userID) \($0)" }
            })
        let expiredUsers = Set(log.filter { $0.event == "stranger_no_matches" }.map(\.userID))

        var roomsOfUser: [String: Int] = [:]
        for (room, members) in rooms {
            #expect(members.count == 2, "room \(room) has \(members.count) members")
            #expect(!members.allSatisfy(bots.contains), "two bots in room \(room)")
            for member in members {
                roomsOfUser[member, default: 0] += 1
                #expect(matchedRooms.contains("\(member) \(room)"), "\(member) never told about \(room)")
            }
        }
        #expect(
            log.filter { $0.event == "stranger_matched" }.allSatisfy { n in
                n.payload["room"]?["id"]?.stringValue.map { rooms[$0] != nil } ?? false
            }, "told about a room that does not exist")
        var unaccounted: [String] = []
        for user in users {
            let inRooms = roomsOfUser[user] ?? 0
            #expect(inRooms <= 1, "\(user) is in \(inRooms) rooms")
            if inRooms == 1 {
                #expect(queued[user] == nil, "\(user) is in a room and still queued")
            } else if queued[user] == nil && !expiredUsers.contains(user) {
                unaccounted.append(user)
            }
        }
        #expect(unaccounted.isEmpty, "users neither in a room, nor queued, nor told they expired: \(unaccounted.prefix(10))")
        #expect(outbox == 0, "undelivered matches left in the outbox")
        #expect(rooms.count >= userCount / 3, "only \(rooms.count) rooms for \(userCount) users")

        let numbers = RunNumbers(
            users: userCount, messages: messages.count, matchers: matchers, rooms: rooms.count,
            expired: expiredUsers.subtracting(roomsOfUser.keys).count, stillQueued: queued.count, seconds: elapsed,
            pairsPerSecond: Double(rooms.count) / elapsed, pairingSeconds: pairingSeconds,
            pairsPerSecondWhilePairing: Double(rooms.count) / max(pairingSeconds, 0.001),
            usersPerSecond: Double(2 * rooms.count + expiredUsers.count) / elapsed,
            passes: passes
        )
        if let path = environment["MATCHMAKER_BENCH_OUT"] {
            try Data(try JSONCoding.string(numbers, pretty: true).utf8).write(to: URL(fileURLWithPath: path))
        }
    }
}
