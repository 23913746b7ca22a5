import EmbeddedSupabase
import Foundation
import MatchmakerCore
import Shared
import TestSupport
import Testing

/// A pass of the `supabase` backend that dies between commit and notification: the relay, over PostgREST
/// and REST broadcast, finishes the match or undoes it, so nobody is left in a room they were never told about.
@Suite(.serialized) struct SupabaseOutboxTests {
    /// What a test sees of a match whose pass died: the app, the upstream it reaches it through, the backend,
    /// the room and the messages the commit consumed.
    struct Abandoned {
        var harness: AppHarness
        var upstream: FaultyTransport
        var supabase: SupabaseBackend
        var room: Room
        var ids: [Int64]
    }

    /// Serves the embedded app, commits alice and bob's match through the `supabase` backend as a pass would
    /// (with `faults` in front of it), stops before telling them, and runs `body`.
    static func withAbandonedMatch(
        faults: [(String, [Int])] = [], _ body: @escaping @Sendable (Abandoned) async throws -> Void
    ) async throws {
        let harness = AppHarness()
        for user in ["alice", "bob"] { try harness.pass.enqueue(user) }
        try await withEmbeddedSupabase(harness) { transport, harness in
            let upstream = FaultyTransport(transport, faults: faults)
            let supabase = SupabaseBackend(transport: upstream, queueName: "stranger-queue", notifyPrivate: false)
            let ports = supabase.ports(presence: UnavailablePresence(reason: "test"))
            let leased = try await ports.queue.lease(count: 2, leaseSeconds: 30)
            let room = Room(id: RoomIDSource(seed: 9).next(), first: "alice", second: "bob", createdAt: harness.pass.now)
            let settings = harness.pass.settings
            try await ports.store.commit(
                MatchCommit(
                    room: room, user1: "alice", user2: "bob", msgIDs: leased.map(\.msgID), claimSeconds: settings.claimSeconds,
                    skipWindowSeconds: settings.policy.skipWindowSeconds))
            try await body(Abandoned(harness: harness, upstream: upstream, supabase: supabase, room: room, ids: leased.map(\.msgID)))
        }
    }

    @Test func theRelayTellsBothUsersOfAMatchWhosePassDied() async throws {
        try await Self.withAbandonedMatch { match in
            #expect(match.harness.pass.backend.pgmq.rows(match.harness.pass.backend.queueName).isEmpty, "the commit consumed both messages")

            let relay = match.supabase.relay(settings: match.harness.pass.settings, time: match.harness.pass.time, logger: testLogger)
            #expect(try await relay.drain().claimed == 0, "the committing pass still owns its notifications")
            try await match.harness.pass.time.sleep(.seconds(61))
            let report = try await relay.drain()
            #expect(report.claimed == 1 && report.delivered == 1)
            let told = match.upstream.delivered.filter { $0.event == "stranger_matched" }
            #expect(told.map(\.userID).sorted() == ["alice", "bob"])
            #expect(told.allSatisfy { $0.payload["room"]?["id"]?.stringValue == match.room.id })
            #expect(match.harness.pass.backend.store.contents.members[match.room.id] == ["alice", "bob"])
            try await match.harness.pass.time.sleep(.seconds(61))
            #expect(try await relay.drain().claimed == 0, "acknowledged: never told twice")
        }
    }

    @Test func theRelayUndoesAMatchItCannotDeliverAndQueuesBothAgain() async throws {
        try await Self.withAbandonedMatch(faults: [("user:bob", [401])]) { match in
            try await match.harness.pass.time.sleep(.seconds(61))
            let report = try await match.supabase.relay(
                settings: match.harness.pass.settings, maxAttempts: 1, time: match.harness.pass.time, logger: testLogger
            )
            .drain()
            #expect(report.undone == 1)
            #expect(match.harness.pass.backend.store.contents.members[match.room.id] == nil, "the room is gone")
            #expect(
                match.harness.pass.backend.pgmq.rows(match.harness.pass.backend.queueName).map(\.msgID) == match.ids, "both queued again")
            #expect(match.upstream.delivered.map { "\($0.userID) \($0.event)" } == ["alice stranger_matched", "alice stranger_skipped"])
        }
    }

    /// A relay first running long after the crash (a deploy, an outage) does not announce stale rooms.
    @Test func aMatchTooOldToAnnounceIsDroppedNotAnnounced() async throws {
        try await Self.withAbandonedMatch { match in
            try await match.harness.pass.time.sleep(.seconds(601))
            let report = try await match.supabase.relay(
                settings: match.harness.pass.settings, time: match.harness.pass.time, logger: testLogger
            ).drain()
            #expect(report.claimed == 0)
            #expect(match.upstream.delivered.isEmpty, "nobody is told about a room from ten minutes ago")
            #expect(
                match.harness.pass.backend.store.contents.members[match.room.id] == ["alice", "bob"], "the room is left as it is")
            #expect(
                match.harness.pass.backend.store.claimStrangerMatches(claimSeconds: 30, limit: 10, maxAgeSeconds: 10_000).isEmpty, "gone")
        }
    }

    @Test func aMatchThatFailsToDeliverIsRetriedOnALaterClaim() async throws {
        try await Self.withAbandonedMatch(faults: [("user:bob", [503, 503, 503, 503, 202])]) { match in
            let relay = match.supabase.relay(settings: match.harness.pass.settings, time: match.harness.pass.time, logger: testLogger)
            try await match.harness.pass.time.sleep(.seconds(61))
            let first = try await relay.drain()
            #expect(first.deferred == 1, "bob could not be told yet: kept for a later claim")
            try await match.harness.pass.time.sleep(.seconds(61))
            let second = try await relay.drain()
            #expect(second.delivered == 1)
        }
    }
}
