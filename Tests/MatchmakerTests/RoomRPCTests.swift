import EmbeddedSupabase
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MatchmakerCore
import Shared
import Testing

/// The room RPCs of `20260701000003_stranger_rooms.sql`, called as PostgREST calls them in schema `public`.
@Suite struct RoomRPCTests {
    let publicHeaders: HTTPFields = [.contentType: "application/json"]

    @Test func createStrangerRoomReturnsTheRowAndATakenIdIs23505() async throws {
        let harness = AppHarness()
        try harness.pass.backend.store.addUsers(["alice", "bob"])
        try await harness.app.test(.router) { client in
            let body = jsonBody(#"{"room_id":"r1","user1":"alice","user2":"bob"}"#)
            let created = try await client.execute(
                uri: "/rest/v1/rpc/create_stranger_room", method: .post, headers: publicHeaders, body: body)
            #expect(created.status == .ok)
            #expect(
                created.json
                    == [
                        "id": "r1", "name": "alice-bob", "isDM": true, "is_locked": false, "owner_id": "alice",
                        "created_at": .string(Timestamp.format(harness.pass.now)),
                    ])
            let again = try await client.execute(
                uri: "/rest/v1/rpc/create_stranger_room", method: .post, headers: publicHeaders, body: body)
            #expect(again.status == .conflict)
            #expect(again.json?["code"] == "23505")
            #expect(again.json?["details"] == "Key (id)=(r1) already exists.")
        }
        #expect(harness.pass.backend.store.contents.members["r1"] == ["alice", "bob"])
    }

    @Test func releaseMakesTheLeasedMessagesVisibleAgain() async throws {
        let harness = AppHarness()
        let queue = harness.pass.backend.queueName
        for user in ["alice", "bob"] { try harness.pass.enqueue(user) }
        let leased = try harness.pass.backend.pgmq.read(queue, visibilityTimeout: 30, count: 2)
        let until = Timestamp.format(try #require(leased.map(\.visibleAt).max()))
        try await harness.app.test(.router) { client in
            let early = try await client.execute(
                uri: "/rest/v1/rpc/release_stranger_messages", method: .post, headers: publicHeaders,
                body: jsonBody(#"{"queue_name":"stranger-queue","msg_ids":[1,2],"leased_until":"2020-01-01T00:00:00+00:00"}"#)
            )
            #expect(early.json == 0, "a bound before the lease releases nothing")
            let release = try await client.execute(
                uri: "/rest/v1/rpc/release_stranger_messages", method: .post, headers: publicHeaders,
                body: jsonBody(#"{"queue_name":"stranger-queue","msg_ids":[1,2,77],"leased_until":"\#(until)"}"#)
            )
            #expect(release.status == .ok)
            #expect(release.json == 2)
            #expect(harness.pass.backend.pgmq.rows(queue).allSatisfy { $0.visibleAt <= harness.pass.now })

            let badTime = try await client.execute(
                uri: "/rest/v1/rpc/release_stranger_messages", method: .post, headers: publicHeaders,
                body: jsonBody(#"{"queue_name":"stranger-queue","msg_ids":[1],"leased_until":"soon"}"#)
            )
            #expect(badTime.status == .badRequest)
            #expect(badTime.json?["code"] == "22007")
            let missing = try await client.execute(
                uri: "/rest/v1/rpc/release_stranger_messages", method: .post, headers: publicHeaders,
                body: jsonBody(#"{"queue_name":"stranger-queue","msg_ids":[1]}"#)
            )
            #expect(missing.status == .notFound)
            #expect(missing.json?["code"] == "PGRST202")
        }
    }

    @Test func commitConsumesBothUsersMessagesAndUndoRestoresThem() async throws {
        let harness = AppHarness()
        let queue = harness.pass.backend.queueName
        for user in ["alice", "bob", "alice", "carol"] { try harness.pass.enqueue(user) }
        let leased = try harness.pass.backend.pgmq.read(queue, visibilityTimeout: 30, count: 2)
        #expect(leased.map(\.msgID) == [1, 2])
        try await harness.app.test(.router) { client in
            let commit = try await client.execute(
                uri: "/rest/v1/rpc/commit_stranger_match", method: .post, headers: publicHeaders,
                body: jsonBody(#"{"queue_name":"stranger-queue","room_id":"r1","user1":"alice","user2":"bob","msg_ids":[1,2]}"#)
            )
            #expect(commit.status == .ok)
            #expect(commit.json?["owner_id"] == "alice")
            #expect(harness.pass.backend.pgmq.rows(queue).map(\.msgID) == [4])

            let undo = try await client.execute(
                uri: "/rest/v1/rpc/delete_stranger_room", method: .post, headers: publicHeaders, body: jsonBody(#"{"room_id":"r1"}"#))
            #expect(undo.json == true)
            let restored = harness.pass.backend.pgmq.rows(queue)
            #expect(restored.map(\.msgID) == [1, 2, 3, 4])
            #expect(restored.map(\.readCount) == [1, 1, 0, 0])
            #expect(restored.allSatisfy { $0.visibleAt <= harness.pass.now })
            #expect(harness.pass.backend.store.contents.rooms.isEmpty)
            #expect(harness.pass.backend.store.contents.members.isEmpty)
        }
    }

    @Test func anAcknowledgedMatchIsNotRestoredByUndo() async throws {
        let harness = AppHarness()
        let queue = harness.pass.backend.queueName
        for user in ["alice", "bob"] { try harness.pass.enqueue(user) }
        _ = try harness.pass.backend.pgmq.read(queue, visibilityTimeout: 30, count: 2)
        try await harness.app.test(.router) { client async throws in
            func rpc(_ function: String, _ body: String) async throws -> TestResponse {
                try await client.execute(uri: "/rest/v1/rpc/\(function)", method: .post, headers: publicHeaders, body: jsonBody(body))
            }
            let commit =
                #"{"queue_name":"stranger-queue","room_id":"r1","user1":"alice","user2":"bob","msg_ids":["1","2"],"claim_seconds":5}"#
            #expect(try await rpc("commit_stranger_match", commit).status == .ok)
            #expect(try await rpc("ack_stranger_match", #"{"room_id":"r1"}"#).json == true)
            #expect(try await rpc("ack_stranger_match", #"{"room_id":"r1"}"#).json == false)
            #expect(try await rpc("delete_stranger_room", #"{"room_id":"r1"}"#).json == true)
            #expect(try await rpc("delete_stranger_room", #"{"room_id":"r1"}"#).json == false)
        }
        #expect(harness.pass.backend.pgmq.rows(queue).isEmpty)
    }

    @Test(arguments: [
        (#""user1":"alice","user2":"alice","msg_ids":[1]"#, "MM003"),
        (#""user1":"alice","user2":"bob","msg_ids":[1,2]"#, "MM002"),
        (#""user1":"alice","user2":"carol","msg_ids":[1,2]"#, "MM001"),
        (#""user1":"carol","user2":"alice","msg_ids":[1]"#, "MM001"),
    ])
    func aRefusedCommitIsA400WithItsCodeAndChangesNothing(arguments: String, code: String) async throws {
        let harness = AppHarness()
        let queue = harness.pass.backend.queueName
        for user in ["alice", "bob", "carol"] { try harness.pass.enqueue(user) }
        _ = try harness.pass.backend.pgmq.read(queue, visibilityTimeout: 30, count: 2)
        try harness.pass.backend.store.addSkip("alice", "bob", at: harness.pass.now.addingTimeInterval(-3))
        let before = harness.pass.backend.pgmq.rows(queue)
        try await harness.app.test(.router) { client in
            let response = try await client.execute(
                uri: "/rest/v1/rpc/commit_stranger_match", method: .post, headers: publicHeaders,
                body: jsonBody(#"{"queue_name":"stranger-queue","room_id":"r1",\#(arguments)}"#)
            )
            #expect(response.status == .badRequest)
            #expect(response.json?["code"]?.stringValue == code)
        }
        #expect(harness.pass.backend.pgmq.rows(queue) == before)
        #expect(harness.pass.backend.store.contents.rooms.isEmpty)
    }

    @Test func aSkipOlderThanTheWindowDoesNotBlockTheCommit() async throws {
        let harness = AppHarness()
        let queue = harness.pass.backend.queueName
        for user in ["alice", "bob"] { try harness.pass.enqueue(user) }
        _ = try harness.pass.backend.pgmq.read(queue, visibilityTimeout: 30, count: 2)
        try harness.pass.backend.store.addSkip("alice", "bob", at: harness.pass.now.addingTimeInterval(-3))
        try await harness.app.test(.router) { client in
            let response = try await client.execute(
                uri: "/rest/v1/rpc/commit_stranger_match", method: .post, headers: publicHeaders,
                body: jsonBody(
                    #"{"queue_name":"stranger-queue","room_id":"r1","user1":"alice","user2":"bob","msg_ids":[1,2],"skip_window_seconds":2}"#
                )
            )
            #expect(response.status == .ok)
        }
    }

    @Test(arguments: [
        ("commit_stranger_match", #"{"room_id":"r1","user1":"a","user2":"b","msg_ids":[1]}"#, 404, "PGRST202"),
        ("ack_stranger_match", #"{"id":"r1"}"#, 404, "PGRST202"),
        ("commit_stranger_match", #"{"queue_name":"q","room_id":"r","user1":"a","user2":"b","msg_ids":5}"#, 400, "22P02"),
        ("create_stranger_room", #"{"room_id":"r","user1":"a","user2":"b","created_at":"yesterday"}"#, 400, "22007"),
        ("commit_stranger_match", #"{"queue_name":"nope","room_id":"r","user1":"a","user2":"b","msg_ids":[1]}"#, 404, "42P01"),
    ])
    func badRoomCallsGetPostgrestErrors(function: String, body: String, status: Int, code: String) async throws {
        try await AppHarness().app.test(.router) { client in
            let response = try await client.execute(
                uri: "/rest/v1/rpc/\(function)", method: .post, headers: [HTTPField.Name("Content-Profile")!: "public"],
                body: jsonBody(body))
            #expect(response.status.code == status)
            #expect(response.json?["code"]?.stringValue == code)
        }
    }
}
