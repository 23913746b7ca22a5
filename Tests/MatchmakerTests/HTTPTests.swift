import EmbeddedSupabase
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import MatchmakerCore
import Metrics
import NIOCore
import Shared
import TestSupport
import Testing

/// The HTTP app over an embedded backend, as `serve` builds it.
struct AppHarness {
    let pass: PassHarness
    let exporter = PrometheusExporter()
    var verifier: JWTVerifier?

    init(now: Date = Date(timeIntervalSince1970: 1_800_000_000)) { pass = PassHarness(now: now) }

    var app: some ApplicationProtocol {
        buildApplication(parts, configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)), logger: testLogger)
    }

    /// What the application serves, over this harness's backend and exporter.
    var parts: AppParts {
        let runner = PassRunner(
            pass: MatchPass(
                ports: pass.backend.ports, settings: pass.settings, time: pass.time, roomIDs: RoomIDSource(seed: 3),
                metrics: MatchMetrics(factory: exporter.factory), logger: testLogger
            )
        )
        return AppParts(backend: .embedded(pass.backend), runner: runner, verifier: verifier, exporter: exporter)
    }
}

extension TestResponse {
    var json: JSONValue? { try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)) }
    var text: String { String(buffer: body) }
}

let rpcHeaders: HTTPFields = [.contentType: "application/json", HTTPField.Name("Content-Profile")!: "pgmq_public"]

func jsonBody(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

@Suite struct FunctionEndpointTests {
    let path = "/functions/v1/stranger-matchmaker"

    @Test func anEmptyQueueAnswersTheOriginalShape() async throws {
        try await AppHarness().app.test(.router) { client in
            let response = try await client.execute(uri: path, method: .post)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            #expect(
                response.text
                    == #"{"message":"No users in queue","stats":{"pairedRooms":0,"processedMessages":0,"totalUsers":0},"success":true}"#)
        }
    }

    @Test(arguments: [HTTPRequest.Method.get, .post, .put, .patch, .delete])
    func everyMethodRunsAPass(method: HTTPRequest.Method) async throws {
        let harness = AppHarness()
        try harness.pass.enqueue("alice")
        try harness.pass.enqueue("bob")
        try await harness.app.test(.router) { client in
            let response = try await client.execute(uri: path, method: method)
            let body = try #require(response.json)
            #expect(response.status == .ok)
            #expect(body["success"] == true)
            #expect(body["message"] == "Matchmaker completed successfully")
            #expect(body["stats"]?["totalUsers"] == 2)
            #expect(body["stats"]?["pairedRooms"] == 1)
            #expect(body["stats"]?["processedMessages"] == 2)
            #expect(body["stats"]?["unprocessedUsers"] == 0)
            #expect(body["degraded"] == true)
            guard case .array(let rooms)? = body["rooms"], case .object(let room)? = rooms.first else {
                Issue.record("no room in \(body)")
                return
            }
            #expect(Set(room.keys) == ["id", "name", "isDM", "is_locked", "owner_id", "created_at"])
            #expect(room["name"] == "alice-bob")
            #expect(room["isDM"] == true)
            #expect(room["is_locked"] == false)
            #expect(room["owner_id"] == "alice")
            #expect(response.headers[.accessControlAllowOrigin] == "*")
        }
    }

    @Test func aFailedQueueReadAnswersTheContract500() async throws {
        let harness = AppHarness()
        try harness.pass.enqueue("alice")
        harness.pass.backend.faults.script(.read, [.error])
        try await harness.app.test(.router) { client in
            let response = try await client.execute(uri: path, method: .post)
            #expect(response.status == .internalServerError)
            #expect(response.text == #"{"error":"Matchmaker function failed","message":"Failed to read queue","success":false}"#)
        }
    }

    @Test func optionsAnswersOkWithSupabaseCORS() async throws {
        try await AppHarness().app.test(.router) { client in
            let response = try await client.execute(uri: path, method: .options)
            #expect(response.status == .ok)
            #expect(response.text == "ok")
            #expect(response.headers[.accessControlAllowOrigin] == "*")
            #expect(response.headers[.accessControlAllowHeaders] == "authorization, x-client-info, apikey, content-type, x-retry-count")
        }
    }

    @Test func anInvalidJSONBodyIsRefusedClearly() async throws {
        try await AppHarness().app.test(.router) { client in
            let response = try await client.execute(
                uri: path, method: .post, headers: [.contentType: "application/json"], body: jsonBody("{nope"))
            #expect(response.status == .badRequest)
            #expect(response.json == ["code": 400, "message": "Request body is not valid JSON"])
        }
    }

    @Test func aBodyOverOneMebibyteIs413() async throws {
        let big = ByteBuffer(repeating: UInt8(ascii: " "), count: (1 << 20) + 1)
        try await AppHarness().app.test(.router) { client in
            let response = try await client.execute(uri: path, method: .post, headers: [.contentType: "application/json"], body: big)
            #expect(response.status == .contentTooLarge)
            #expect(response.json?["code"] == 413)
        }
    }
}

@Suite struct JWTEndpointTests {
    static let secret = "super-secret-jwt-token-with-at-least-32-characters-long"

    func harness() async -> AppHarness {
        var harness = AppHarness()
        harness.verifier = await JWTVerifier(secret: Self.secret)
        return harness
    }

    @Test func aValidTokenIsAccepted() async throws {
        let token = try await JWTVerifier.sign(SupabaseClaims(role: "anon", exp: Date().addingTimeInterval(600)), secret: Self.secret)
        try await harness().app.test(.router) { client in
            let response = try await client.execute(
                uri: "/functions/v1/stranger-matchmaker", method: .post, headers: [.authorization: "Bearer \(token)"])
            #expect(response.status == .ok)
        }
    }

    @Test func missingBadAndExpiredTokensAre401() async throws {
        let expired = try await JWTVerifier.sign(SupabaseClaims(role: "anon", exp: Date().addingTimeInterval(-5)), secret: Self.secret)
        let foreign = try await JWTVerifier.sign(
            SupabaseClaims(role: "anon", exp: Date().addingTimeInterval(600)), secret: "not-the-project-secret-but-long-enough-1234"
        )
        try await harness().app.test(.router) { client in
            for header in [nil, "Bearer \(expired)", "Bearer \(foreign)", "Bearer garbage", "Token abc"] {
                var headers: HTTPFields = [:]
                if let header { headers[.authorization] = header }
                let response = try await client.execute(uri: "/functions/v1/stranger-matchmaker", method: .post, headers: headers)
                #expect(response.status == .unauthorized)
                #expect(response.text == #"{"code":401,"message":"Invalid JWT"}"#)
            }
        }
    }

    func token(role: String?) async throws -> String {
        try await JWTVerifier.sign(SupabaseClaims(role: role, exp: Date().addingTimeInterval(600)), secret: Self.secret)
    }

    /// Our room RPCs are `service_role`'s alone (docs/contract.md §6a): PostgREST answers 42501 with 401 for
    /// `anon` (a token without a role is anon) and 403 for `authenticated`; nothing is written.
    @Test(arguments: [("anon", 401), (nil, 401), ("authenticated", 403)] as [(String?, Int)])
    func theRoomRPCsRefuseEveryRoleButTheServiceRole(role: String?, status: Int) async throws {
        let harness = await harness()
        try harness.pass.backend.store.addUsers(["alice", "bob"])
        let refused = try await token(role: role)
        let service = try await token(role: "service_role")
        let calls = [
            ("create_stranger_room", #"{"room_id":"r1","user1":"alice","user2":"bob"}"#),
            ("commit_stranger_match", #"{"queue_name":"stranger-queue","room_id":"r2","user1":"a","user2":"b","msg_ids":[]}"#),
            ("ack_stranger_match", #"{"room_id":"r1"}"#),
            ("delete_stranger_room", #"{"room_id":"r1"}"#),
            ("release_stranger_messages", #"{"queue_name":"stranger-queue","msg_ids":[],"leased_until":"2030-01-01T00:00:00Z"}"#),
            ("claim_stranger_matches", "{}"),
        ]
        try await harness.app.test(.router) { client in
            for (function, body) in calls {
                let response = try await client.execute(
                    uri: "/rest/v1/rpc/\(function)", method: .post,
                    headers: [.contentType: "application/json", .authorization: "Bearer \(refused)"], body: jsonBody(body))
                #expect(response.status.code == status, "\(function)")
                #expect(
                    response.json
                        == [
                            "code": "42501", "message": .string("permission denied for function \(function)"), "details": .null,
                            "hint": .null,
                        ], "\(function)")
            }
            #expect(harness.pass.backend.store.contents.rooms.isEmpty)
            let created = try await client.execute(
                uri: "/rest/v1/rpc/create_stranger_room", method: .post,
                headers: [.contentType: "application/json", .authorization: "Bearer \(service)"], body: jsonBody(calls[0].1))
            #expect(created.status == .ok)
            #expect(created.json?["name"] == "alice-bob")
        }
    }

    /// `matchmaker_outbox` has its anon and authenticated grants revoked (§6a): 42501 before anything else.
    @Test func theOutboxIsClosedToAnon() async throws {
        let anon = try await token(role: "anon")
        try await harness().app.test(.router) { client in
            let response = try await client.execute(
                uri: "/rest/v1/matchmaker_outbox?select=room_id", method: .get, headers: [.authorization: "Bearer \(anon)"])
            #expect(response.status == .unauthorized)
            #expect(response.json?["code"] == "42501")
            #expect(response.json?["message"] == "permission denied for table matchmaker_outbox")
        }
    }

    /// Supabase's `pgmq_public` wrappers keep the project's grants: without the opt-in hardening anon may
    /// send and read (the app server enqueues with the anon key); the function endpoint takes any valid JWT.
    @Test func anonKeepsThePgmqWrappersAndTheFunction() async throws {
        let anon = try await token(role: "anon")
        var fields = rpcHeaders
        fields[.authorization] = "Bearer \(anon)"
        let headers = fields
        try await harness().app.test(.router) { client in
            let sent = try await client.execute(
                uri: "/rest/v1/rpc/send", method: .post, headers: headers,
                body: jsonBody(#"{"queue_name":"stranger-queue","message":{"userId":"a"}}"#))
            #expect(sent.status == .ok)
            #expect(sent.json == [1])
            let read = try await client.execute(
                uri: "/rest/v1/rpc/read", method: .post, headers: headers,
                body: jsonBody(#"{"queue_name":"stranger-queue","sleep_seconds":0,"n":1}"#))
            #expect(read.status == .ok)
            guard case .array(let rows)? = read.json else { Issue.record("not an array: \(read.text)"); return }
            #expect(rows.map { $0["msg_id"] } == [1])
            let function = try await client.execute(
                uri: "/functions/v1/stranger-matchmaker", method: .post, headers: [.authorization: "Bearer \(anon)"])
            #expect(function.status == .ok)
        }
    }

    @Test func theEmbeddedRESTSliceChecksTokensToo() async throws {
        try await harness().app.test(.router) { client in
            let response = try await client.execute(
                uri: "/rest/v1/rpc/send", method: .post, headers: rpcHeaders,
                body: jsonBody(#"{"queue_name":"stranger-queue","message":{"userId":"a"}}"#)
            )
            #expect(response.status == .unauthorized)
            #expect(response.json?["code"] == "PGRST301")
        }
    }
}

@Suite struct OperationsEndpointTests {
    @Test func healthReadinessStatsAndMetrics() async throws {
        let harness = AppHarness()
        try harness.pass.enqueue("alice")
        try harness.pass.enqueue("bob")
        try await harness.app.test(.router) { client in
            #expect(try await client.execute(uri: "/healthz", method: .get).json == ["status": "ok"])
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            _ = try await client.execute(uri: "/functions/v1/stranger-matchmaker", method: .post)
            let stats = try #require(try await client.execute(uri: "/stats", method: .get).json)
            #expect(stats["rooms"] == 1)
            #expect(stats["passes"] == 1)
            #expect(stats["backend"] == "embedded")
            #expect(stats["queueDepth"] == 0)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains(#"matchmaker_pairs_total{kind="humans"} 1"#))
            #expect(metrics.text.contains(#"matchmaker_passes_total{outcome="ok"} 1"#))
            #expect(metrics.text.contains("matchmaker_pass_seconds"))
        }
    }
}
