import EmbeddedSupabase
import Foundation
import MatchmakerCore
import PostgresNIO
import Shared
import Testing

extension PostgresSuite {
    /// Two users with one queued message each, committed into a room by `store` without telling them (a crashed pass).
    static func abandonedMatch(
        _ client: PostgresClient, prefix: String
    ) async throws -> (backend: PostgresBackend, room: Room, msgIDs: [Int64]) {
        let (backend, a, b, ids) = try await client.queuedPair(prefix: prefix)
        _ = try await backend.queue.lease(count: 2, leaseSeconds: 30)
        let room = Room(id: String((prefix + "r000000000000000").prefix(24)), first: a, second: b, createdAt: Date())
        try await backend.store.commit(MatchCommit(room, a, b, consuming: ids))
        return (backend, room, ids)
    }

    static func expireClaims(_ client: PostgresClient, room: Room) async throws {
        try await client.command(
            "update public.matchmaker_outbox set claimed_until = now() - interval '1 second' where room_id = \(room.id)",
            logger: TestDatabase.logger
        )
    }

    static var quickSettings: MatchPass.Settings {
        var settings = MatchPass.Settings()
        settings.notifyBackoff = Backoff(maxRetries: 1, baseDelay: .milliseconds(1), maxDelay: .milliseconds(2))
        settings.attemptTimeout = .seconds(2)
        return settings
    }

    @Test func theRelayTellsBothUsersOfAMatchWhosePassDied() async throws {
        let prefix = TestDatabase.uniquePrefix("relay")
        try await TestDatabase.withClient { client in
            let (backend, room, _) = try await Self.abandonedMatch(client, prefix: prefix)
            let notifier = EmbeddedNotifier()
            let relay = backend.relay(notifier: notifier, settings: Self.quickSettings)

            _ = try await relay.drain()
            #expect(notifier.log.filter { $0.userID.hasPrefix(prefix) }.isEmpty, "the committing pass still owns its claim")

            try await Self.expireClaims(client, room: room)
            _ = try await relay.drain()
            let told = notifier.log.filter { $0.userID.hasPrefix(prefix) }
            #expect(Set(told.map(\.userID)) == [room.ownerID, "\(prefix)b"])
            #expect(told.allSatisfy { $0.event == "stranger_matched" && $0.payload["room"]?["id"]?.stringValue == room.id })
            #expect(try await client.count("select count(*) from public.matchmaker_outbox where room_id = \(room.id)") == 0)
            #expect(try await client.count("select count(*) from public.room where id = \(room.id)") == 1)
        }
    }

    @Test func aMatchTooOldToAnnounceIsDroppedNotAnnounced() async throws {
        let prefix = TestDatabase.uniquePrefix("stale")
        try await TestDatabase.withClient { client in
            let (backend, room, _) = try await Self.abandonedMatch(client, prefix: prefix)
            try await client.command(
                "update public.matchmaker_outbox set claimed_until = now() - interval '1 second', created_at = now() - interval '11 minutes' where room_id = \(room.id)",
                logger: TestDatabase.logger
            )
            let notifier = EmbeddedNotifier()
            _ = try await backend.relay(notifier: notifier, settings: Self.quickSettings).drain()
            #expect(notifier.log.filter { $0.userID.hasPrefix(prefix) }.isEmpty, "nobody is told about a room from eleven minutes ago")
            #expect(try await client.count("select count(*) from public.matchmaker_outbox where room_id = \(room.id)") == 0)
            #expect(try await client.count("select count(*) from public.room where id = \(room.id)") == 1, "the room is left as it is")
        }
    }

    @Test func theRelayUndoesAMatchItCannotDeliver() async throws {
        let prefix = TestDatabase.uniquePrefix("undo")
        try await TestDatabase.withClient { client in
            let (backend, room, ids) = try await Self.abandonedMatch(client, prefix: prefix)
            let faults = EmbeddedFaults()
            faults.script(.notify(user: "\(prefix)b"), [.unauthorized])
            let notifier = EmbeddedNotifier(faults: faults)
            let relay = OutboxRelay(
                outbox: PostgresMatchOutbox(client: client, logger: TestDatabase.logger), notifier: notifier, claimSeconds: 30,
                maxAttempts: 1,
                runner: RetryRunner(backoff: Self.quickSettings.notifyBackoff, attemptTimeout: .seconds(2)), logger: TestDatabase.logger
            )
            try await Self.expireClaims(client, room: room)
            let report = try await relay.drain()
            #expect(report.undone >= 1)
            #expect(try await client.count("select count(*) from public.room where id = \(room.id)") == 0)
            #expect(try await client.count("select count(*) from public.room_member where room_id = \(room.id)") == 0)
            let back = try await backend.queue.lease(count: 10, leaseSeconds: 30)
            #expect(back.map(\.msgID) == ids, "both users queued again under their original messages")
            #expect(notifier.log.map(\.event) == ["stranger_matched", "stranger_skipped"], "the told user learns the match is off")
        }
    }

    @Test func aPassUndoesItsRoomWhenAUserCannotBeToldAndRequeuesBoth() async throws {
        let prefix = TestDatabase.uniquePrefix("passundo")
        try await TestDatabase.withClient { client in
            let (backend, a, b, ids) = try await client.queuedPair(prefix: prefix)
            let faults = EmbeddedFaults()
            faults.script(.notify(user: b), [.error])
            let notifier = EmbeddedNotifier(faults: faults)
            let report = try await MatchPass(
                ports: backend.ports(presence: EmbeddedPresence(.unavailable(reason: "test")), notifier: notifier),
                settings: Self.quickSettings, logger: TestDatabase.logger
            ).run()
            #expect(report.pairedRooms == 0 && report.undone == 1)
            #expect(try await client.count("select count(*) from public.room where owner_id = \(a)") == 0)
            #expect(try await client.count("select count(*) from public.matchmaker_outbox where users[1] = \(a)") == 0)
            #expect(try await backend.queue.lease(count: 10, leaseSeconds: 30).map(\.msgID) == ids)
            #expect(notifier.log.filter { $0.userID == a }.map(\.event) == ["stranger_matched", "stranger_skipped"])
        }
    }
}
