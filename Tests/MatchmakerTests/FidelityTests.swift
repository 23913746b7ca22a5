import EmbeddedSupabase
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MatchmakerCore
import NIOCore
import Shared
import Testing

/// Issue 16 item 6: the embedded backend refuses what PostgreSQL with the app's schema refuses, with the same
/// SQLSTATE, message and PostgREST status (`Tests/PostgresTests/AppSchemaTests.swift` asks PostgreSQL the same).
@Suite struct FidelityTests {
    let headers: HTTPFields = [.contentType: "application/json"]

    /// A `user` row as the app writes it.
    static func user(_ id: String) -> String {
        #"{"id":"\#(id)","name":"\#(id)","email":"\#(id)@example.com","email_verified":false,"created_at":"2026-11-29T12:00:00","updated_at":"2026-11-29T12:00:00"}"#
    }

    @Test func foreignKeysAreCheckedOnInsertUpdateAndDeleteAndCascadeAsTheAppsSchema() async throws {
        try await AppHarness().app.test(.router) { client in
            func post(_ table: String, _ body: String) async throws -> TestResponse {
                try await client.execute(uri: "/rest/v1/\(table)", method: .post, headers: headers, body: jsonBody(body))
            }
            func count(_ table: String) async throws -> Int {
                try await client.execute(uri: "/rest/v1/\(table)", method: .get).json?.arrayValue?.count ?? -1
            }
            // The issue's reproduction: a message into room `nope` was 201.
            let orphan = try await post("message", #"{"id":"m0","room_id":"nope","sender_id":"u1","content":"hi"}"#)
            #expect(orphan.status == .conflict)
            #expect(orphan.json?["code"] == "23503")
            #expect(
                orphan.json?["message"]
                    == #"insert or update on table "message" violates foreign key constraint "message_room_id_room_id_fk""#)
            #expect(orphan.json?["details"] == #"Key (room_id)=(nope) is not present in table "room"."#)

            let ghostOwner = try await post("room", #"{"id":"r0","name":"x","owner_id":"ghost"}"#)
            #expect(ghostOwner.status == .conflict)
            #expect(
                ghostOwner.json?["message"]
                    == #"insert or update on table "room" violates foreign key constraint "room_owner_id_user_id_fk""#)

            for id in ["u1", "u2", "u3"] { #expect(try await post("user", Self.user(id)).status == .created) }
            #expect(try await post("room", #"{"id":"r1","name":"x","owner_id":"u1"}"#).status == .created)
            let ghostMember = try await post("room_member", #"{"room_id":"r1","user_id":"ghost"}"#)
            #expect(
                ghostMember.json?["message"]
                    == #"insert or update on table "room_member" violates foreign key constraint "room_member_user_id_user_id_fk""#)
            #expect(try await post("room_member", #"[{"room_id":"r1","user_id":"u1"},{"room_id":"r1","user_id":"u2"}]"#).status == .created)
            #expect(try await post("message", #"{"id":"m1","room_id":"r1","sender_id":"u1","content":"hi"}"#).status == .created)
            #expect(
                try await post("skipped_pair", #"[{"user_a_id":"u2","user_b_id":"u3"},{"user_a_id":"u3","user_b_id":"u2"}]"#).status
                    == .created)
            let analytics =
                #"{"id":"a1","bot_id":"u2","conversation_id":"r1","messages_exchanged":1,"conversation_duration":2,"human_skipped":false,"bot_skipped":true}"#
            #expect(try await post("bot_analytics", analytics).status == .created)

            // An update to a missing key, and re-keying a referenced row (no `on update cascade`).
            let moved = try await client.execute(
                uri: "/rest/v1/message?id=eq.m1", method: .patch, headers: headers, body: jsonBody(#"{"room_id":"nope"}"#))
            #expect(moved.status == .conflict)
            #expect(moved.json?["code"] == "23503")
            let rekeyed = try await client.execute(
                uri: "/rest/v1/user?id=eq.u1", method: .patch, headers: headers, body: jsonBody(#"{"id":"u9"}"#))
            #expect(rekeyed.status == .conflict)
            #expect(
                rekeyed.json?["message"]
                    == #"update or delete on table "user" violates foreign key constraint "room_owner_id_user_id_fk" on table "room""#)
            #expect(rekeyed.json?["details"] == #"Key (id)=(u1) is still referenced from table "room"."#)

            // bot_analytics does not cascade: the room stays, members and message too.
            let kept = try await client.execute(uri: "/rest/v1/room?id=eq.r1", method: .delete)
            #expect(kept.status == .conflict)
            #expect(
                kept.json?["message"]
                    == #"update or delete on table "room" violates foreign key constraint "bot_analytics_conversation_id_room_id_fk" on table "bot_analytics""#
            )
            #expect(kept.json?["details"] == #"Key (id)=(r1) is still referenced from table "bot_analytics"."#)
            #expect(try await count("room_member") == 2)
            // Without the analytics, the room goes with its members and messages.
            #expect(try await client.execute(uri: "/rest/v1/bot_analytics?id=eq.a1", method: .delete).status == .noContent)
            #expect(try await client.execute(uri: "/rest/v1/room?id=eq.r1", method: .delete).status == .noContent)
            #expect(try await count("room_member") == 0)
            #expect(try await count("message") == 0)
            // A user's skips go with the user.
            #expect(try await client.execute(uri: "/rest/v1/user?id=eq.u3", method: .delete).status == .noContent)
            #expect(try await count("skipped_pair") == 0)
        }
    }

    /// PostgreSQL refuses to put a queued user without a `user` row in a room (`room_owner_id_user_id_fk`, or the
    /// member's key for the second user), so the embedded commit does too: the pass reports the pair undone,
    /// both stay queued under their lease, as on the `postgres` backend.
    @Test func aQueuedUserWithoutAUserRowIsNotPutInARoom() async throws {
        let harness = AppHarness()
        let backend = harness.pass.backend
        try harness.pass.enqueue("alice", age: 2)
        _ = try backend.pgmq.insert(backend.queueName, message: ["userId": "ghost"], enqueuedAt: harness.pass.now.addingTimeInterval(-1))
        let report = try await harness.pass.pass().run()
        #expect(report.pairedRooms == 0)
        #expect(report.undone == 1)
        #expect(backend.store.contents.rooms.isEmpty)
        #expect(backend.pgmq.rows(backend.queueName).map(\.msgID) == [1, 2])
        #expect(backend.notifier.log.isEmpty)

        // The commit itself, over PostgREST: the member's foreign key, 409, nothing consumed.
        try await harness.app.test(.router) { client in
            let response = try await client.execute(
                uri: "/rest/v1/rpc/commit_stranger_match", method: .post, headers: headers,
                body: jsonBody(#"{"queue_name":"stranger-queue","room_id":"r1","user1":"alice","user2":"ghost","msg_ids":[1,2]}"#))
            #expect(response.status == .conflict)
            #expect(response.json?["code"] == "23503")
            #expect(
                response.json?["message"]
                    == #"insert or update on table "room_member" violates foreign key constraint "room_member_user_id_user_id_fk""#)
        }
        #expect(backend.pgmq.rows(backend.queueName).count == 2)
        #expect(backend.store.pendingMatches(queue: backend.queueName) == 0)
    }

    @Test func varchar24ColumnsRefuseLongerValues() async throws {
        let harness = AppHarness()
        try harness.pass.backend.store.addUsers(["u1"])
        try await harness.app.test(.router) { client in
            func post(_ table: String, _ body: String) async throws -> TestResponse {
                try await client.execute(
                    uri: "/rest/v1/\(table)", method: .post,
                    headers: [.contentType: "application/json", TableRESTTests.prefer: "return=representation"],
                    body: jsonBody(body))
            }
            let long = String(repeating: "r", count: 25)
            let refused = try await post("room", #"{"id":"\#(long)","name":"x","owner_id":"u1"}"#)
            #expect(refused.status == .badRequest)
            #expect(refused.json?["code"] == "22001")
            #expect(refused.json?["message"] == "value too long for type character varying(24)")
            // Characters, not bytes: 24 two-byte letters fit.
            let wide = String(repeating: "é", count: 24)
            #expect(try await post("room", #"{"id":"\#(wide)","name":"x","owner_id":"u1"}"#).status == .created)
            // Spaces past the limit are dropped, as PostgreSQL's assignment cast does.
            let padded = try await post("room", #"{"id":"\#(String(repeating: "p", count: 24))   ","name":"x","owner_id":"u1"}"#)
            #expect(padded.json?.arrayValue?.first?["id"] == .string(String(repeating: "p", count: 24)))
            let message = try await post("message", #"{"id":"\#(long)","room_id":"\#(wide)","sender_id":"u1","content":"hi"}"#)
            #expect(message.json?["code"] == "22001")
        }
    }

    @Test func aNULCharacterIsRefusedByTablesAndTheQueue() async throws {
        let harness = AppHarness()
        try await harness.app.test(.router) { client in
            let row = Self.user("u1").replacingOccurrences(of: #""name":"u1""#, with: #""name":"a\u0000b""#)
            let refused = try await client.execute(uri: "/rest/v1/user", method: .post, headers: headers, body: jsonBody(row))
            #expect(refused.status == .badRequest)
            #expect(refused.json?["code"] == "22P05")
            #expect(refused.json?["message"] == "unsupported Unicode escape sequence")
            #expect(refused.json?["details"] == #"\u0000 cannot be converted to text."#)
            for message in [#"{"userId":"a\u0000"}"#, #"{"userId":"a","x":{"k\u0000":1}}"#] {
                let sent = try await client.execute(
                    uri: "/rest/v1/rpc/send", method: .post, headers: rpcHeaders,
                    body: jsonBody(#"{"queue_name":"stranger-queue","message":\#(message)}"#))
                #expect(sent.status == .badRequest)
                #expect(sent.json?["code"] == "22P05")
            }
        }
        #expect(harness.pass.backend.pgmq.rows(harness.pass.backend.queueName).isEmpty)
    }

    /// `joined_at=gt.2020-01-01` was 22007: timestamps in filters are compared as instants, as PostgreSQL does.
    @Test(arguments: [
        ("joined_at=gt.2020-01-01", 2),
        ("joined_at=lt.2026-12-03T10:00:00Z", 1),
        ("joined_at=lt.2026-12-03T10:00:00", 1),
        ("joined_at=lt.2026-12-03%2010:00:01%2B00", 2),
        ("joined_at=gte.2026-12-03T10:00:00%2B02:00", 2),
        ("joined_at=gt.2026-12-03T10:00:00%2B02:00", 1),
        ("joined_at=eq.2026-12-03T08:00:00.0000001Z", 1),
        ("joined_at=lt.2026-12-03", 0),
        ("joined_at=lt.2026-12-03T24:00:00", 2),
    ])
    func timestampFiltersCompareInstants(filter: String, expected: Int) async throws {
        let harness = AppHarness()
        try harness.pass.backend.store.addUsers(["u1", "u2"])
        _ = try harness.pass.backend.store.createStrangerRoom(id: "r1", user1: "u1", user2: "u2")
        try await harness.app.test(.router) { client in
            for (user, time) in [("u1", "2026-12-03T08:00:00Z"), ("u2", "2026-12-03T10:00:00.5+00:00")] {
                let response = try await client.execute(
                    uri: "/rest/v1/room_member?user_id=eq.\(user)", method: .patch, headers: headers,
                    body: jsonBody(#"{"joined_at":"\#(time)"}"#))
                #expect(response.status == .noContent)
            }
            let response = try await client.execute(uri: "/rest/v1/room_member?\(filter)", method: .get)
            #expect(response.status == .ok)
            #expect(response.json?.arrayValue?.count == expected)
        }
    }

    @Test(arguments: [
        ("notadate", "22007", #"invalid input syntax for type timestamp with time zone: "notadate""#),
        ("2026-12-03T10:00:00Zjunk", "22007", #"invalid input syntax for type timestamp with time zone: "2026-12-03T10:00:00Zjunk""#),
        ("2026-13-01", "22008", #"date/time field value out of range: "2026-13-01""#),
        ("2026-02-29", "22008", #"date/time field value out of range: "2026-02-29""#),
        ("2026-12-03T25:00:00", "22008", #"date/time field value out of range: "2026-12-03T25:00:00""#),
    ])
    func anUnreadableTimestampFilterIsPostgreSQLsError(value: String, code: String, message: String) async throws {
        try await AppHarness().app.test(.router) { client in
            let response = try await client.execute(uri: "/rest/v1/room?created_at=gt.\(value)", method: .get)
            #expect(response.status == .badRequest)
            #expect(response.json?["code"] == .string(code))
            #expect(response.json?["message"] == .string(message))
        }
    }

    /// A message nested 510 deep was accepted by `send` and then lost by `pop` (500, empty body, consumed). Now
    /// `send` refuses one nested past 500 levels, and whatever it accepts comes back from `read` and `pop`
    /// in a body our own JSON parser reads.
    static func nested(_ depth: Int) -> String { String(repeating: "[", count: depth) + String(repeating: "]", count: depth) }

    @Test func whatSendAcceptsReadAndPopReturn() async throws {
        let harness = AppHarness()
        let queue = harness.pass.backend.queueName
        try await harness.app.test(.router) { client in
            func rpc(_ function: String, _ body: String) async throws -> TestResponse {
                try await client.execute(uri: "/rest/v1/rpc/\(function)", method: .post, headers: rpcHeaders, body: jsonBody(body))
            }
            for depth in [501, 510] {
                let refused = try await rpc("send", #"{"queue_name":"stranger-queue","message":\#(Self.nested(depth))}"#)
                #expect(refused.status == .badRequest)
                #expect(refused.json?["code"] == "22023")
                #expect(
                    refused.json?["message"]
                        == "message nested deeper than 500 levels: the embedded backend could not return it from read or pop")
            }
            #expect(harness.pass.backend.pgmq.rows(queue).isEmpty)
            let deepest = try JSONValue(parsing: Data(Self.nested(500).utf8))
            #expect(try await rpc("send", #"{"queue_name":"stranger-queue","message":\#(Self.nested(500))}"#).status == .ok)
            #expect(try await rpc("send", #"{"queue_name":"stranger-queue","message":\#(Self.nested(500))}"#).status == .ok)

            let read = try await rpc("read", #"{"queue_name":"stranger-queue","sleep_seconds":0,"n":1}"#)
            #expect(read.status == .ok)
            #expect(try JSONValue(parsing: Data(read.body.readableBytesView)).arrayValue?.first?["message"] == deepest)
            let popped = try await rpc("pop", #"{"queue_name":"stranger-queue"}"#)
            #expect(popped.status == .ok)
            #expect(try JSONValue(parsing: Data(popped.body.readableBytesView)).arrayValue?.first?["message"] == deepest)
        }
        #expect(harness.pass.backend.pgmq.rows(queue).map(\.msgID) == [2])
    }
}
