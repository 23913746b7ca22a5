import Foundation
import MatchmakerCore
import Shared
import Testing

/// A pass of the `supabase` backend that dies between commit and notification: the relay, over PostgREST
/// and REST broadcast, finishes the match or undoes it, so nobody is left in a room they were never told about.
@Suite(.serialized) struct SupabaseOutboxTests {
    /// Commits alice and bob's match as a pass would, then stops before telling them.
    static func abandonedMatch(_ supabase: SupabaseBackend, now: Date) async throws -> (Room, [Int64]) {
        let ports = supabase.ports(presence: UnavailablePresence(reason: "test"))
        let leased = try await ports.queue.lease(count: 2, leaseSeconds: 30)
        let room = Room(id: RoomIDSource(seed: 9).next(), first: "alice", second: "bob", createdAt: now)
        _ = try await ports.store.commitRoom(room, members: ["alice", "bob"], consuming: leased.map(\.msgID))
        return (room, leased.map(\.msgID))
    }

    static func backend(_ transport: any HTTPTransport) -> SupabaseBackend {
        SupabaseBackend(transport: transport, queueName: "stranger-queue", notifyPrivate: false, skipWindow: 10, leaseSeconds: 30)
    }

    @Test func theRelayTellsBothUsersOfAMatchWhosePassDied() async throws {
        let harness = AppHarness()
        for user in ["alice", "bob"] { try harness.pass.enqueue(user) }
        try await withEmbeddedSupabase(harness) { transport, harness in
            let upstream = FaultyTransport(transport, faults: [])
            let supabase = Self.backend(upstream)
            let (room, _) = try await Self.abandonedMatch(supabase, now: harness.pass.now)
            #expect(harness.pass.backend.pgmq.rows(harness.pass.backend.queueName).isEmpty, "the commit consumed both messages")

            let relay = supabase.relay(settings: harness.pass.settings, time: harness.pass.time, logger: .quiet)
            #expect(try await relay.drain().claimed == 0, "the committing pass still owns its notifications")
            try await harness.pass.time.sleep(.seconds(61))
            let report = try await relay.drain()
            #expect(report.claimed == 1 && report.delivered == 1)
            let told = upstream.delivered.filter { $0.event == "stranger_matched" }
            #expect(told.map(\.userID).sorted() == ["alice", "bob"])
            #expect(told.allSatisfy { $0.payload["room"]?["id"]?.stringValue == room.id })
            #expect(harness.pass.backend.store.contents.members[room.id] == ["alice", "bob"])
            try await harness.pass.time.sleep(.seconds(61))
            #expect(try await relay.drain().claimed == 0, "acknowledged: never told twice")
        }
    }

    @Test func theRelayUndoesAMatchItCannotDeliverAndQueuesBothAgain() async throws {
        let harness = AppHarness()
        for user in ["alice", "bob"] { try harness.pass.enqueue(user) }
        try await withEmbeddedSupabase(harness) { transport, harness in
            let upstream = FaultyTransport(transport, faults: [("user:bob", [401])])
            let supabase = Self.backend(upstream)
            let (room, ids) = try await Self.abandonedMatch(supabase, now: harness.pass.now)
            try await harness.pass.time.sleep(.seconds(61))
            let report = try await supabase.relay(settings: harness.pass.settings, maxAttempts: 1, time: harness.pass.time, logger: .quiet)
                .drain()
            #expect(report.undone == 1)
            #expect(harness.pass.backend.store.contents.members[room.id] == nil, "the room is gone")
            #expect(harness.pass.backend.pgmq.rows(harness.pass.backend.queueName).map(\.msgID) == ids, "both queued again")
            #expect(upstream.delivered.map { "\($0.userID) \($0.event)" } == ["alice stranger_matched", "alice stranger_skipped"])
        }
    }

    /// A relay first running long after the crash (a deploy, an outage) does not announce stale rooms.
    @Test func aMatchTooOldToAnnounceIsDroppedNotAnnounced() async throws {
        let harness = AppHarness()
        for user in ["alice", "bob"] { try harness.pass.enqueue(user) }
        try await withEmbeddedSupabase(harness) { transport, harness in
            let upstream = FaultyTransport(transport, faults: [])
            let supabase = Self.backend(upstream)
            let (room, _) = try await Self.abandonedMatch(supabase, now: harness.pass.now)
            try await harness.pass.time.sleep(.seconds(601))
            let report = try await supabase.relay(settings: harness.pass.settings, time: harness.pass.time, logger: .quiet).drain()
            #expect(report.claimed == 0)
            #expect(upstream.delivered.isEmpty, "nobody is told about a room from ten minutes ago")
            #expect(harness.pass.backend.store.contents.members[room.id] == ["alice", "bob"], "the room is left as it is")
            #expect(harness.pass.backend.store.claimStrangerMatches(claimSeconds: 30, limit: 10, maxAgeSeconds: 10_000).isEmpty, "gone")
        }
    }

    @Test func aMatchThatFailsToDeliverIsRetriedOnALaterClaim() async throws {
        let harness = AppHarness()
        for user in ["alice", "bob"] { try harness.pass.enqueue(user) }
        try await withEmbeddedSupabase(harness) { transport, harness in
            let upstream = FaultyTransport(transport, faults: [("user:bob", [503, 503, 503, 503, 202])])
            let supabase = Self.backend(upstream)
            _ = try await Self.abandonedMatch(supabase, now: harness.pass.now)
            let relay = supabase.relay(settings: harness.pass.settings, time: harness.pass.time, logger: .quiet)
            try await harness.pass.time.sleep(.seconds(61))
            let first = try await relay.drain()
            #expect(first.deferred == 1, "bob could not be told yet: kept for a later claim")
            try await harness.pass.time.sleep(.seconds(61))
            let second = try await relay.drain()
            #expect(second.delivered == 1)
        }
    }
}
