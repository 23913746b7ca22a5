import EmbeddedSupabase
import Foundation
import MatchmakerCore
import Shared
import TestSupport
import Testing

/// The bots' `user` rows against the embedded backend, whose `user` table holds the app's constraints.
extension LiveBotTests {
    @Suite(.timeLimit(.minutes(2))) struct BotUserRowTests {
        /// The bot's row as the embedded PostgREST returns it.
        static func row(_ id: String, through transport: any HTTPTransport) async throws -> JSONValue {
            let rows = try await PostgRESTClient(transport: transport).select("user", filters: [.eq("id", id)])
            return try #require(rows.first, "no user row \(id)")
        }

        @Test func aBotWritesEveryColumnTheAppRequiresAndARestartKeepsCreatedAt() async throws {
            try await withWatchdog {
                try await withMatchmaker { port, backend in
                    let identity = BotIdentity(slot: 1)
                    let created = try await withBots(port: port, count: 1) { manager, recorder in
                        try await eventually { manager.phases[identity.id] == .waiting }
                        let first = try await Self.row(identity.id, through: recorder)
                        #expect(first["email"] == .string("bot-friendly-alex-1@bot.internal"))
                        #expect(first["email_verified"] == true)
                        #expect(first["is_bot"] == true && first["is_anonymous"] == true)
                        #expect(first["bot_profile"] == .string(identity.profile.json))
                        let created = try #require(first["created_at"]?.stringValue)
                        #expect(first["updated_at"]?.stringValue == created)
                        #expect(first["last_active"]?.stringValue != nil, "stamped on start, then touched as the bot queues")
                        let calls = recorder.exchanges.filter { $0.request.path.contains("/rest/v1/user") }.prefix(2)
                        #expect(
                            calls.map { "\($0.request.method) \($0.request.path) \($0.request.headers["prefer"] ?? "-")" } == [
                                "POST /rest/v1/user?on_conflict=id resolution=ignore-duplicates,return=minimal",
                                "PATCH /rest/v1/user?id=eq.bot-friendly-alex-1 -",
                            ])
                        #expect(calls.last?.request.body?["created_at"] == nil, "the update leaves created_at alone")
                        #expect(calls.last?.request.body?["email_verified"] == true)
                        return created
                    }

                    // A restart an hour later, once the bot has stopped (a running bot keeps touching `last_active`):
                    // the same row, its first `created_at`, fresh `updated_at`.
                    try await withBots(port: port, count: 0) { _, recorder in
                        let later = Date().addingTimeInterval(3600)
                        try await BotStore(transport: recorder).upsertUser(identity, now: later)
                        let again = try await Self.row(identity.id, through: recorder)
                        #expect(again["created_at"]?.stringValue == created)
                        #expect(again["updated_at"]?.stringValue == BotIdentity.localTimestamp(later))
                        #expect(again["last_active"]?.stringValue == BotIdentity.localTimestamp(later))
                        #expect(backend.store.contents.bots == [identity.id], "one row, reused")
                    }
                }
            }
        }

        @Test func aBotWhoseRowIsRefusedIsReportedOnceAndNeverAvailable() async throws {
            try await withWatchdog {
                try await withMatchmaker { port, backend in
                    // Someone else already has the first bot's email: its insert violates `user_email_unique`.
                    let identity = BotIdentity(slot: 1)
                    let stamp = JSONValue.string(BotIdentity.localTimestamp(Date()))
                    let squatter: JSONValue = [
                        "id": "someone", "name": "Someone", "email": .string(identity.email), "email_verified": false,
                        "created_at": stamp, "updated_at": stamp,
                    ]
                    try await withBots(port: port, count: 0) { _, transport in
                        try await PostgRESTClient(transport: transport).insert("user", rows: [squatter])
                    }

                    try await withBots(port: port, count: 1) { manager, recorder in
                        try await eventually { manager.stats.unwritableBots == 1 }
                        try await manager.tick()
                        let stats = manager.stats
                        #expect(stats.unwritableBots == 1)
                        #expect(stats.failedBots == 1, "refused by the table: starts halt, so the bot is not retried")
                        #expect(stats.halted?.contains("user row of bot-friendly-alex-1 not written: HTTP 409 23505") == true)
                        #expect(stats.totalBots == 0)
                        #expect(!recorder.exchanges.contains { $0.request.path == "/rest/v1/rpc/ready_bots" }, "never available")
                        #expect(backend.store.idleBots(limit: .max).isEmpty)
                        #expect(backend.store.contents.bots.isEmpty)
                    }
                }
            }
        }

        @Test func aBotWhoseRowWriteKeepsFailingIsCountedOnceAndRetriedWithoutBecomingAvailable() async throws {
            try await withWatchdog {
                try await withMatchmaker { port, backend in
                    try await withBots(port: port, count: 1, storeTransport: { UserWritesFail(inner: $0) }) { manager, recorder in
                        try await eventually { manager.stats.failedBots == 1 }
                        // A 503 may pass: starts do not halt, the next tick tries the same slot again, and it is not recounted.
                        try await manager.tick()
                        try await eventually { manager.stats.failedBots == 2 }
                        let stats = manager.stats
                        #expect(stats.unwritableBots == 1)
                        #expect(stats.halted == nil)
                        #expect(stats.totalBots == 0)
                        #expect(!recorder.exchanges.contains { $0.request.path == "/rest/v1/rpc/ready_bots" }, "never available")
                        #expect(backend.store.idleBots(limit: .max).isEmpty)
                    }
                }
            }
        }
    }
}

/// Answers every write of a `user` row with 503, and passes everything else on.
struct UserWritesFail: HTTPTransport {
    let inner: any HTTPTransport

    func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
        if request.path.hasPrefix("/rest/v1/user"), request.method != "GET" {
            return UpstreamResponse(status: 503, body: #"{"message":"service unavailable"}"#)
        }
        return try await inner.send(request)
    }
}
