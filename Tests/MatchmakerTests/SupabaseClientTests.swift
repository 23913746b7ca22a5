import AsyncHTTPClient
import EmbeddedSupabase
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import MatchmakerCore
import Shared
import Synchronization
import TestSupport
import Testing

/// Runs `body` with a real AsyncHTTPClient transport pointed at the embedded app on a real socket.
func withEmbeddedSupabase(
    _ harness: AppHarness = AppHarness(), _ body: @Sendable (any HTTPTransport, AppHarness) async throws -> Void
) async throws {
    try await harness.app.test(.live) { client in
        let http = AsyncHTTPTransport.makeClient(connectionsPerHost: 4, connectTimeout: .seconds(2))
        do {
            let transport = AsyncHTTPTransport(
                client: http, baseURL: "http://127.0.0.1:\(client.port!)", apiKey: "service-role-key", timeout: .seconds(8),
                logger: testLogger
            )
            // One request first: a live server torn down before any connection reached it can hang its shutdown.
            _ = try await transport.send(UpstreamRequest(method: "GET", path: "/healthz"))
            try await body(transport, harness)
        } catch {
            try await http.shutdown()
            throw error
        }
        try await http.shutdown()
    }
}

@Suite(.serialized) struct SupabaseClientTests {
    @Test func pgmqClientSpeaksThePgmqPublicWrappers() async throws {
        try await withEmbeddedSupabase { transport, harness in
            let pgmq = PgmqClient(postgrest: PostgRESTClient(transport: transport), queue: "stranger-queue")
            #expect(try await pgmq.send(["userId": "a"]) == 1)
            #expect(try await pgmq.sendBatch([["userId": "b"], ["userId": "c"]]) == [2, 3])
            let leased = try await pgmq.read(count: 2, leaseSeconds: 30)
            #expect(leased.map(\.msgID) == [1, 2])
            #expect(leased.allSatisfy { $0.readCount == 1 })
            #expect(try await pgmq.read(count: 10, leaseSeconds: 30).map(\.msgID) == [3])
            #expect(try await pgmq.delete(1))
            #expect(try await !pgmq.delete(1))
            #expect(try await pgmq.archive(2))
            #expect(harness.pass.backend.pgmq.archived("stranger-queue").map(\.msgID) == [2])
            _ = try await pgmq.send(["userId": "d"])
            #expect(try await pgmq.pop()?.msgID == 4)
        }
    }

    @Test func postgrestErrorsBecomeTypedFailures() async throws {
        try await withEmbeddedSupabase { transport, _ in
            let postgrest = PostgRESTClient(transport: transport)
            do {
                _ = try await postgrest.rpc("delete", schema: "pgmq_public", arguments: ["queue_name": "stranger-queue", "msg_id": 1])
                Issue.record("expected PGRST202")
            } catch let error as UpstreamError {
                #expect(error.status == 404)
                #expect(error.code == "PGRST202")
                #expect(!error.failureClass.isRetryable, "a missing function is final")
            }
        }
    }

    @Test func aQueueReadThatTheServerFailsIsRetryable() async throws {
        let harness = AppHarness()
        harness.pass.backend.faults.script(.read, [.error])
        try await withEmbeddedSupabase(harness) { transport, _ in
            let pgmq = PgmqClient(postgrest: PostgRESTClient(transport: transport), queue: "stranger-queue")
            do {
                _ = try await pgmq.read(count: 1, leaseSeconds: 30)
                Issue.record("expected a 500")
            } catch let error as UpstreamError {
                #expect(error.status == 500)
                #expect(error.failureClass.isRetryable)
            }
        }
    }

    @Test func restBroadcastSendsTheContractsBatchAndTheHubAccepts() async throws {
        try await withEmbeddedSupabase { transport, _ in
            let recorder = RecordingTransport(recording: transport)
            try await BroadcastClient(transport: recorder).send(topic: "user:alice", event: "stranger_matched", payload: ["room": [:]])
            #expect(recorder.exchanges.count == 1)
            let exchange = try #require(recorder.exchanges.first)
            #expect(exchange.request.method == "POST")
            #expect(exchange.request.path == "/realtime/v1/api/broadcast")
            #expect(
                exchange.request.body == [
                    "messages": [["topic": "user:alice", "event": "stranger_matched", "payload": ["room": [:]], "private": false]]
                ])
            #expect(exchange.response?.status == 202)
        }
    }

    @Test func aConnectionRefusedIsARetryableTransportError() async throws {
        let http = AsyncHTTPTransport.makeClient(connectTimeout: .seconds(1))
        let transport = AsyncHTTPTransport(
            client: http, baseURL: "http://127.0.0.1:1", apiKey: "k", timeout: .seconds(2), logger: testLogger)
        do {
            _ = try await transport.send(UpstreamRequest(method: "GET", path: "/rest/v1/user"))
            Issue.record("expected a failure")
        } catch let error as UpstreamError {
            #expect(error.kind == .transport || error.kind == .timeout)
            #expect(error.failureClass.isRetryable)
        }
        try await http.shutdown()
    }
}

@Suite struct PostgRESTFilterTests {
    @Test func listsQuoteReservedCharactersAsPostgrestExpects() {
        #expect(Filter.in("id", ["a", "b c", "d,e", #"q"x"#]).value == #"in.(a,"b c","d,e","q\"x")"#)
        #expect(
            Filter.any(of: [("user_a_id", ["u1", "u2"]), ("user_b_id", ["u1", "u2"])]).value
                == "(user_a_id.in.(u1,u2),user_b_id.in.(u1,u2))"
        )
    }

    @Test func queryParametersArePercentEncoded() {
        #expect(Filter.gte("created_at", "2026-11-29T12:00:00.000000+00:00").encoded == "created_at=gte.2026-11-29T12:00:00.000000%2B00:00")
        #expect(Filter.eq("name", "a&b=c").encoded == "name=eq.a%26b%3Dc")
    }
}

@Suite struct ReplayTransportTests {
    let read = UpstreamRequest(method: "POST", path: "/rest/v1/rpc/read", headers: ["content-profile": "pgmq_public"], body: ["n": 1])
    let first = UpstreamRequest(method: "POST", path: "/realtime/v1/api/broadcast", body: ["to": "a"])
    let second = UpstreamRequest(method: "POST", path: "/realtime/v1/api/broadcast", body: ["to": "b"])

    @Test func servesRecordedResponsesAndToleratesConcurrentReordering() async throws {
        let replay = ReplayTransport(exchanges: [
            Exchange(request: read, response: UpstreamResponse(status: 200, body: "[]")),
            Exchange(request: first, response: UpstreamResponse(status: 202, body: "")),
            Exchange(request: second, response: UpstreamResponse(status: 429, body: "")),
        ])
        #expect(try await replay.send(read).body == "[]")
        #expect(try await replay.send(second).status == 429)
        #expect(try await replay.send(first).status == 202)
        #expect(replay.differences.isEmpty)
    }

    @Test func reportsUnexpectedAndMissingRequests() async throws {
        let replay = ReplayTransport(exchanges: [Exchange(request: read, response: UpstreamResponse(status: 200, body: "[]"))])
        await #expect(throws: UpstreamError.self) { try await replay.send(first) }
        #expect(replay.differences.count == 2)
        #expect(replay.differences[0].hasPrefix("unexpected request POST /realtime/v1/api/broadcast"))
        #expect(replay.differences[1].hasPrefix("exchange 0: never requested"))
    }

    @Test func replaysTransportFailures() async {
        let replay = ReplayTransport(exchanges: [Exchange(request: read, failure: "timeout")])
        do {
            _ = try await replay.send(read)
            Issue.record("expected a timeout")
        } catch let error as UpstreamError {
            #expect(error.kind == .timeout)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
