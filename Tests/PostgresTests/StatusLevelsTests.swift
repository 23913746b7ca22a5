import EmbeddedSupabase
import Foundation
import MatchmakerCore
import PostgresNIO
import Shared
import Testing

extension PostgresSuite {
    @Test func queueLevelsComeFromPgmqMetricsAndTheBacklogCountsPendingMatches() async throws {
        let prefix = TestDatabase.uniquePrefix("levels")
        try await TestDatabase.withClient { client in
            let (backend, room, _) = try await Self.abandonedMatch(client, prefix: prefix)
            // The match consumed both messages: the queue is empty, the match is pending.
            #expect(try await backend.queueLevels() == QueueLevels(depth: 0, oldestAgeSeconds: 0))
            #expect(try await backend.outboxBacklog() == 1)

            _ = try await client.enqueue(backend.queueName, body: #"{"userId":"\#(prefix)c"}"#, age: 42)
            _ = try await client.enqueue(backend.queueName, body: #"{"userId":"\#(prefix)d"}"#, age: 7)
            let levels = try await backend.queueLevels()
            #expect(levels.depth == 2)
            // pgmq.metrics reports whole seconds; the statement runs within a second of the insert.
            #expect((42...43).contains(levels.oldestAgeSeconds))

            _ = try await backend.relay(notifier: EmbeddedNotifier(), settings: Self.quickSettings).drain()
            try await Self.expireClaims(client, room: room)
            _ = try await backend.relay(notifier: EmbeddedNotifier(), settings: Self.quickSettings).drain()
            #expect(try await backend.outboxBacklog() == 0, "relayed and acknowledged")
        }
    }
}
