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

/// The REST broadcast API and the notifier path of the embedded hub.
@Suite(.timeLimit(.minutes(1))) struct HubRESTTests {
    static let secret = "test-secret-test-secret-test-secret"

    @Test func aBatchBroadcastIsAcceptedAndDeliveredToASubscriber() async throws {
        try await withLiveHTTP { http, _ in
            try await withClient(port: try #require(http.port), version: .v2) { client in
                let channel = await client.channel("user:u1")
                try await channel.subscribe()
                let body = #"{"messages":[{"topic":"user:u1","event":"stranger_no_matches","payload":{"reason":"none"},"private":false}]}"#
                let status = try await http.execute(
                    uri: "/realtime/v1/api/broadcast", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: body)
                ) { $0.status }
                #expect(status == .accepted)
                let event = await channel.events.next { $0.broadcastEvent != nil }
                #expect(event == .broadcast(event: "stranger_no_matches", payload: ["reason": "none"], meta: nil))
            }
        }
    }

    @Test func aSingleBroadcastIsAcceptedAndDelivered() async throws {
        try await withLiveHTTP { http, _ in
            try await withClient(port: try #require(http.port), version: .v1) { client in
                let channel = await client.channel("user:u2")
                try await channel.subscribe()
                let status = try await http.execute(
                    uri: "/realtime/v1/api/broadcast/user%3Au2/events/ping", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"n":1}"#)
                ) { $0.status }
                #expect(status == .accepted)
                #expect(await channel.events.next { $0.broadcastEvent != nil } == .broadcast(event: "ping", payload: ["n": 1], meta: nil))
            }
        }
    }

    /// Realtime's changeset errors: per message in a batch, per field, and `messages` itself when it is missing.
    @Test(arguments: [
        (
            "/realtime/v1/api/broadcast", #"{"messages":[{"topic":"t","event":"e","payload":"text"}]}"#,
            #"{"errors":{"messages":[{"payload":["is invalid"]}]}}"#
        ),
        (
            "/realtime/v1/api/broadcast", #"{"messages":[{"topic":"t","event":"e","payload":{}},{"event":"e","payload":{}}]}"#,
            #"{"errors":{"messages":[{},{"topic":["can't be blank"]}]}}"#
        ),
        ("/realtime/v1/api/broadcast", #"{}"#, #"{"errors":{"messages":["can't be blank"]}}"#),
        ("/realtime/v1/api/broadcast", "not json", #"{"errors":{"messages":["can't be blank"]}}"#),
        ("/realtime/v1/api/broadcast/t/events/e", "[1]", #"{"errors":{"payload":["is invalid"]}}"#),
    ])
    func badBodiesAre422(path: String, body: String, errors: String) async throws {
        try await withLiveHTTP { http, _ in
            let (status, json) = try await http.execute(
                uri: path, method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: body)
            ) { ($0.status, try? JSONCoding.decoder.decode(JSONValue.self, from: Data($0.body.readableBytesView))) }
            #expect(status == .unprocessableContent)
            #expect(json == (try JSONValue(parsing: Data(errors.utf8))))
        }
    }

    @Test func keysAreRequiredWhenConfigured() async throws {
        let token = try await JWTVerifier.sign(
            SupabaseClaims(role: "service_role", exp: Date().addingTimeInterval(600)), secret: Self.secret)
        try await withLiveHTTP(configure: { $0.jwtSecret = Self.secret }) { http, _ in
            let body = ByteBuffer(string: #"{"messages":[{"topic":"t","event":"e","payload":{}}]}"#)
            let missing = try await http.execute(uri: "/realtime/v1/api/broadcast", method: .post, body: body) { $0 }
            #expect(missing.status == .unauthorized)
            #expect(String(buffer: missing.body) == #"{"message":"Unauthorized"}"#)
            let wrong = try await http.execute(
                uri: "/realtime/v1/api/broadcast", method: .post, headers: [.authorization: "Bearer nope"], body: body
            ) { $0.status }
            #expect(wrong == .unauthorized)
            let right = try await http.execute(
                uri: "/realtime/v1/api/broadcast", method: .post, headers: [HTTPField.Name("apikey")!: token], body: body
            ) { $0.status }
            #expect(right == .accepted)
            // The socket refuses a bad key and accepts a good one.
            let port = try #require(http.port)
            let refused = await #expect(throws: RealtimeError.self) {
                try await withClient(port: port, version: .v2, configure: { $0.reconnectBackoff.maxRetries = 0 }) { client in
                    try await client.channel("x").subscribe()
                }
            }
            #expect(refused?.kind == .gaveUp)
            try await withClient(port: port, version: .v2, configure: { $0.apiKey = token }) { client in
                try await client.channel("x").subscribe()
            }
        }
    }

    @Test func aPairedUserHearsStrangerMatchedOnTheirChannel() async throws {
        try await withLiveHTTP { http, backend in
            try await withClient(port: try #require(http.port), version: .v2) { client in
                let alice = await client.channel("user:alice")
                try await alice.subscribe()
                try backend.store.addUsers(["alice", "bob"])
                for user in ["alice", "bob"] { _ = try backend.pgmq.send(backend.queueName, message: ["userId": .string(user)]) }
                let status = try await http.execute(uri: "/functions/v1/stranger-matchmaker", method: .post) { $0.status }
                #expect(status == .ok)
                let event = await alice.events.next { $0.broadcastEvent != nil }
                guard case .broadcast(let name, let payload, _)? = event else {
                    Issue.record("no notification")
                    return
                }
                #expect(name == "stranger_matched")
                #expect(payload["room"]?["name"] == "alice-bob")
                #expect(backend.notifier.log.map(\.event) == ["stranger_matched", "stranger_matched"])
            }
        }
    }
}

/// `/stats` shows the Realtime monitor and pool when the app has a client.
@Suite struct RealtimeStatsTests {
    @Test func statsIncludeTheMonitorAndPool() async throws {
        let backend = EmbeddedBackend()
        let client = RealtimeClient(configuration: RealtimeConfiguration(url: "http://127.0.0.1:9", apiKey: "k"), logger: testLogger)
        let pass = MatchPass(ports: backend.ports, settings: MatchPass.Settings(), logger: testLogger)
        var withClient = Backend.embedded(backend)
        withClient.realtime = client
        let parts = AppParts(backend: withClient, runner: PassRunner(pass: pass), verifier: nil, exporter: PrometheusExporter())
        let app = buildApplication(parts, configuration: ApplicationConfiguration(), logger: testLogger)
        try await app.test(.router) { http in
            let body = try await http.execute(uri: "/stats", method: .get) {
                try JSONCoding.decoder.decode(JSONValue.self, from: Data($0.body.readableBytesView))
            }
            #expect(body["realtime"]?["pool"]?["sockets"] == 0)
            #expect(body["realtime"]?["monitor"]?["totalConnections"] == 0)
            #expect(body["realtimeConnections"] == 0)
        }
    }
}
