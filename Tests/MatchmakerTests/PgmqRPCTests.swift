import EmbeddedSupabase
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MatchmakerCore
import NIOCore
import Shared
import TestSupport
import Testing

@Suite struct PgmqRPCTests {
    /// Issue 16: `send_batch` of 300,000 messages grew the stand-in's queue without bound. A batch over the limit is
    /// 400 `22023`; a send that would take the queue past its length is 503 `53400` (PostgREST's status for
    /// SQLSTATE class 53); neither appends anything, and the queue takes messages again once it drains.
    @Test func theEmbeddedQueueRefusesOversizedBatchesAndSendsPastItsLength() async throws {
        var limits = EmbeddedPgmq.Limits()
        limits.maxQueueLength = 3
        limits.maxBatch = 2
        try await withLiveHTTP(backend: EmbeddedBackend(queueLimits: limits)) { client, backend in
            func rpc(_ function: String, _ body: String) async throws -> TestResponse {
                try await client.execute(uri: "/rest/v1/rpc/\(function)", method: .post, headers: rpcHeaders, body: jsonBody(body))
            }
            let three = #"{"queue_name":"stranger-queue","messages":[{"userId":"a"},{"userId":"b"},{"userId":"c"}]}"#
            let tooMany = try await rpc("send_batch", three)
            #expect(tooMany.status == .badRequest)
            #expect(tooMany.json?["code"] == "22023")
            #expect(tooMany.json?["message"] == "send_batch takes at most 2 messages, got 3")
            #expect(backend.pgmq.rows(backend.queueName).isEmpty)

            #expect(
                try await rpc("send_batch", #"{"queue_name":"stranger-queue","messages":[{"userId":"a"},{"userId":"b"}]}"#).json == [1, 2])
            let overflowing = try await rpc("send_batch", #"{"queue_name":"stranger-queue","messages":[{"userId":"c"},{"userId":"d"}]}"#)
            #expect(overflowing.status == .serviceUnavailable)
            #expect(overflowing.json?["code"] == "53400")
            #expect(
                overflowing.json?["message"] == #"queue "stranger-queue" is full: it holds 3 messages (EMBEDDED_QUEUE_MAX_MESSAGES)"#)
            #expect(backend.pgmq.rows(backend.queueName).count == 2, "nothing of the refused batch was appended")
            #expect(try await rpc("send", #"{"queue_name":"stranger-queue","message":{"userId":"c"}}"#).json == [3])
            #expect(try await rpc("send", #"{"queue_name":"stranger-queue","message":{"userId":"d"}}"#).status == .serviceUnavailable)
            #expect(try await rpc("delete", #"{"queue_name":"stranger-queue","message_id":1}"#).json == true)
            #expect(try await rpc("send", #"{"queue_name":"stranger-queue","message":{"userId":"d"}}"#).json == [4])
        }
    }

    @Test func sendReadDeleteArchivePopOverARealSocket() async throws {
        try await AppHarness().app.test(.live) { client in
            func rpc(_ function: String, _ body: String) async throws -> TestResponse {
                try await client.execute(uri: "/rest/v1/rpc/\(function)", method: .post, headers: rpcHeaders, body: jsonBody(body))
            }
            #expect(try await rpc("send", #"{"queue_name":"stranger-queue","message":{"userId":"a"}}"#).json == [1])
            #expect(try await rpc("send", #"{"queue_name":"stranger-queue","message":{"userId":"b"},"sleep_seconds":0}"#).json == [2])
            #expect(
                try await rpc("send_batch", #"{"queue_name":"stranger-queue","messages":[{"userId":"c"},{"userId":"d"}]}"#).json == [3, 4]
            )
            let read = try await rpc("read", #"{"queue_name":"stranger-queue","sleep_seconds":30,"n":2}"#)
            #expect(read.status == .ok)
            let rows = try #require(read.json?.arrayValue)
            #expect(rows.count == 2)
            #expect(rows[0]["msg_id"] == 1)
            #expect(rows[0]["read_ct"] == 1)
            #expect(rows[0]["message"] == ["userId": "a"])
            #expect(rows[0]["enqueued_at"]?.stringValue.flatMap(Timestamp.parse) != nil)
            #expect(rows[0]["vt"]?.stringValue.flatMap(Timestamp.parse) != nil)
            // Leased messages are hidden from the next read.
            let next = try await rpc("read", #"{"queue_name":"stranger-queue","sleep_seconds":30,"n":10}"#)
            #expect(next.json?.arrayValue?.map { $0["msg_id"] } == [3, 4])
            #expect(try await rpc("delete", #"{"queue_name":"stranger-queue","message_id":1}"#).json == true)
            #expect(try await rpc("delete", #"{"queue_name":"stranger-queue","message_id":1}"#).json == false)
            #expect(try await rpc("archive", #"{"queue_name":"stranger-queue","message_id":"2"}"#).json == true)
            #expect(try await rpc("archive", #"{"queue_name":"stranger-queue","message_id":99}"#).json == false)
            _ = try await rpc("send", #"{"queue_name":"stranger-queue","message":{"userId":"e"}}"#)
            let popped = try await rpc("pop", #"{"queue_name":"stranger-queue"}"#)
            #expect(popped.json?.arrayValue?.map { $0["msg_id"] } == [5])
        }
    }

    /// Issue 16: JSON numbers were held as `Double`, so `9223372036854775807` came back as `9.223372036854776e+18`
    /// and a bigint `message_id` beyond 2^53 was refused. A message's numbers now come back byte for byte, and
    /// `message_id` takes the whole bigint range (one past it is PostgreSQL's 22003).
    @Test func bigintsSurviveTheQueueByteForByte() async throws {
        try await AppHarness().app.test(.live) { client in
            func rpc(_ function: String, _ body: String) async throws -> TestResponse {
                try await client.execute(uri: "/rest/v1/rpc/\(function)", method: .post, headers: rpcHeaders, body: jsonBody(body))
            }
            let message = #"{"big":9223372036854775807,"dec":0.10000000000000000001,"f":1.5,"neg":-9223372036854775808}"#
            #expect(try await rpc("send", #"{"queue_name":"stranger-queue","message":"# + message + "}").json == [1])
            let read = try await rpc("read", #"{"queue_name":"stranger-queue","sleep_seconds":30,"n":1}"#)
            #expect(String(buffer: read.body).contains(#""message":"# + message), "\(String(buffer: read.body))")
            let row = try #require(read.json?.arrayValue?.first)
            #expect(row["message"]?["big"]?.integerValue == Int64.max)

            let top = #"{"queue_name":"stranger-queue","message_id":9223372036854775807}"#
            let deleted = try await rpc("delete", top)
            #expect(deleted.status == .ok)
            #expect(deleted.json == false, "no such message, but a valid bigint")
            #expect(try await rpc("archive", #"{"queue_name":"stranger-queue","message_id":"9223372036854775807"}"#).json == false)
            let beyond = try await rpc("delete", #"{"queue_name":"stranger-queue","message_id":9223372036854775808}"#)
            #expect(beyond.status == .badRequest)
            #expect(beyond.json?["code"] == "22003")
            #expect(beyond.json?["message"] == #"value "9223372036854775808" is out of range for type bigint"#)
            #expect(try await rpc("delete", #"{"queue_name":"stranger-queue","message_id":1.5}"#).json?["code"] == "22P02")
            #expect(try await rpc("delete", #"{"queue_name":"stranger-queue","message_id":1}"#).json == true)
        }
    }

    @Test func msgIDInsteadOfMessageIDIsTheDocumentedPGRST202() async throws {
        try await AppHarness().app.test(.router) { client in
            let response = try await client.execute(
                uri: "/rest/v1/rpc/delete", method: .post, headers: rpcHeaders,
                body: jsonBody(#"{"queue_name":"stranger-queue","msg_id":1}"#)
            )
            #expect(response.status == .notFound)
            let body = try #require(response.json)
            #expect(body["code"] == "PGRST202")
            #expect(body["message"] == "Could not find the function pgmq_public.delete(msg_id, queue_name) in the schema cache")
            #expect(Set(["code", "message", "details", "hint"]) == Set(body.objectKeys))
        }
    }

    @Test(arguments: [
        ("nope", #"{"queue_name":"stranger-queue"}"#, 404, "PGRST202"),
        ("read", #"{"queue_name":"stranger-queue","n":1}"#, 404, "PGRST202"),
        ("read", #"{"queue_name":"stranger-queue","sleep_seconds":"soon","n":1}"#, 400, "22P02"),
        ("read", #"{"queue_name":"stranger-queue","sleep_seconds":1.5,"n":1}"#, 400, "22P02"),
        ("read", #"{"queue_name":"stranger-queue","sleep_seconds":null,"n":1}"#, 400, "22004"),
        ("send_batch", #"{"queue_name":"stranger-queue","messages":{"userId":"a"}}"#, 400, "22P02"),
        ("send", #"{"queue_name":"no-such-queue","message":{}}"#, 404, "42P01"),
        ("send", #"{"queue_name":"stranger-queue","message":"#, 400, "PGRST102"),
        ("send", #"["not","an","object"]"#, 400, "PGRST102"),
    ])
    func badCallsGetPostgrestErrors(function: String, body: String, status: Int, code: String) async throws {
        try await AppHarness().app.test(.router) { client in
            let response = try await client.execute(
                uri: "/rest/v1/rpc/\(function)", method: .post, headers: rpcHeaders, body: jsonBody(body))
            #expect(response.status.code == status)
            #expect(response.json?["code"]?.stringValue == code)
        }
    }

    @Test func theSchemaComesFromContentProfile() async throws {
        try await AppHarness().app.test(.router) { client in
            let body = jsonBody(#"{"queue_name":"stranger-queue","message":{}}"#)
            let publicSchema = try await client.execute(
                uri: "/rest/v1/rpc/send", method: .post, headers: [.contentType: "application/json"], body: body)
            #expect(publicSchema.status == .notFound)
            #expect(publicSchema.json?["message"] == "Could not find the function public.send(message, queue_name) in the schema cache")
            let unknown = try await client.execute(
                uri: "/rest/v1/rpc/send", method: .post, headers: [HTTPField.Name("Content-Profile")!: "secret"], body: body
            )
            #expect(unknown.status == .notAcceptable)
            #expect(unknown.json?["code"] == "PGRST106")
        }
    }

    @Test func anOversizedRPCBodyIs413InPostgrestShape() async throws {
        let big = ByteBuffer(repeating: UInt8(ascii: "x"), count: (1 << 20) + 10)
        try await AppHarness().app.test(.router) { client in
            let response = try await client.execute(uri: "/rest/v1/rpc/send", method: .post, headers: rpcHeaders, body: big)
            #expect(response.status == .contentTooLarge)
            #expect(response.json?["code"] == "PGRST413")
        }
    }

    @Test func enqueuedWithRPCThenPairedByTheFunction() async throws {
        try await AppHarness().app.test(.live) { client in
            for user in ["alice", "bob"] {
                // Signed in first, as the app does: the room's foreign keys need the `user` rows.
                let row =
                    #"{"id":"\#(user)","name":"\#(user)","email":"\#(user)@example.com","email_verified":false,"#
                    + #""created_at":"2026-11-29T12:00:00","updated_at":"2026-11-29T12:00:00"}"#
                let signedIn = try await client.execute(
                    uri: "/rest/v1/user", method: .post, headers: [.contentType: "application/json"], body: jsonBody(row))
                #expect(signedIn.status == .created)
                _ = try await client.execute(
                    uri: "/rest/v1/rpc/send", method: .post, headers: rpcHeaders,
                    body: jsonBody(#"{"queue_name":"stranger-queue","message":{"userId":"\#(user)","continent":"Asia"}}"#)
                )
            }
            let response = try await client.execute(uri: "/functions/v1/stranger-matchmaker", method: .post)
            #expect(response.json?["stats"]?["pairedRooms"] == 1)
        }
    }
}

extension JSONValue {
    var objectKeys: [String] { if case .object(let fields) = self { Array(fields.keys) } else { [] } }
}

extension JSONValue {
    var arrayValue: [JSONValue]? { if case .array(let elements) = self { elements } else { nil } }
}
