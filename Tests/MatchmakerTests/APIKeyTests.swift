import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MatchmakerCore
import Shared
import Synchronization
import TestSupport
import Testing

/// Every request's `apikey` and `Authorization` headers, as a server on a free port saw them.
final class HeaderRecorder: Sendable {
    let seen = Mutex<[(apikey: String?, authorization: String?)]>([])

    func serve(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        router.on("**", method: .post) { request, _ in
            self.seen.withLock {
                $0.append((request.headers[HTTPField.Name("apikey")!], request.headers[.authorization]))
            }
            return Response(status: .accepted)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: testLogger)
        try await app.test(.live) { client in try await body("http://127.0.0.1:\(try #require(client.port))") }
    }
}

@Suite struct APIKeyTests {
    static let legacy = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2ln"

    @Test func theHeadersFollowTheKeyKind() {
        #expect(SupabaseKeyKind.authHeaders(for: "sb_secret_abc") == ["apikey": "sb_secret_abc"])
        #expect(SupabaseKeyKind.authHeaders(for: "sb_publishable_abc") == ["apikey": "sb_publishable_abc"])
        #expect(SupabaseKeyKind.authHeaders(for: Self.legacy) == ["apikey": Self.legacy, "Authorization": "Bearer \(Self.legacy)"])
        #expect(SupabaseKeyKind.authHeaders(for: "").isEmpty)
        #expect(SupabaseKeyKind.realtimeAccessToken(for: "sb_secret_abc") == nil)
        #expect(SupabaseKeyKind.realtimeAccessToken(for: "sb_publishable_abc") == nil)
        #expect(SupabaseKeyKind.realtimeAccessToken(for: Self.legacy) == Self.legacy)
        #expect(SupabaseKeyKind(key: "sb_secret_abc").role == "service_role")
        #expect(SupabaseKeyKind(key: "sb_publishable_abc").role == "anon")
    }

    /// The transport behind PostgREST, pgmq, REST broadcast, the Supabase backend and the bots' row
    /// writes: an `sb_` key is never a bearer token; a legacy key is both, as before.
    @Test func aNewKeyIsSentAsAPIKeyOnly() async throws {
        let recorder = HeaderRecorder()
        try await recorder.serve { url in
            let http = AsyncHTTPTransport.makeClient(connectionsPerHost: 1, connectTimeout: .seconds(5))
            do {
                for key in ["sb_secret_abc", "sb_publishable_abc", Self.legacy] {
                    let transport = AsyncHTTPTransport(client: http, baseURL: url, apiKey: key, timeout: .seconds(10), logger: testLogger)
                    try await BroadcastClient(transport: transport).send(topic: "user:a", event: "e", payload: [:])
                    _ = try await PostgRESTClient(transport: transport).rpc("read", schema: "pgmq_public", arguments: [:])
                }
            } catch {
                try await http.shutdown()
                throw error
            }
            try await http.shutdown()
        }
        let seen = recorder.seen.withLock { $0 }
        #expect(
            seen.map(\.apikey) == ["sb_secret_abc", "sb_secret_abc", "sb_publishable_abc", "sb_publishable_abc", Self.legacy, Self.legacy])
        #expect(seen.map(\.authorization) == [nil, nil, nil, nil, "Bearer \(Self.legacy)", "Bearer \(Self.legacy)"])
    }

    /// `serve` configured with new keys: the function endpoint takes the secret (or publishable) key in
    /// `apikey`, as the gateway does, and nothing else; the embedded PostgREST gives the secret key
    /// `service_role` and the publishable key `anon`.
    @Test func serveAcceptsTheProjectsNewKeysInAPIKey() async throws {
        let secret = "sb_secret_test_project_key"
        let publishable = "sb_publishable_test_project_key"
        try await withLiveHTTP(configure: {
            $0.serviceRoleKey = secret
            $0.anonKey = publishable
        }) { client, _ in
            let path = "/functions/v1/stranger-matchmaker"
            for (headers, status) in [
                (["apikey": secret], HTTPResponse.Status.ok), (["apikey": publishable], .ok),
                (["apikey": secret, "Authorization": "Bearer \(secret)"], .ok), ([:], .unauthorized),
                (["Authorization": "Bearer \(secret)"], .unauthorized), (["apikey": "sb_secret_another_project"], .unauthorized),
                (["apikey": Self.legacy], .unauthorized),
            ] as [([String: String], HTTPResponse.Status)] {
                var fields = HTTPFields()
                for (name, value) in headers { fields[try #require(HTTPField.Name(name))] = value }
                let response = try await client.execute(uri: path, method: .post, headers: fields)
                #expect(response.status == status, "\(headers.keys.sorted())")
            }
            // The outbox is service_role's alone: the secret key gets past its grant (to the embedded backend's
            // "no such table", PGRST205), the publishable key does not.
            for (key, status) in [(secret, HTTPResponse.Status.notFound), (publishable, .unauthorized), ("sb_secret_other", .unauthorized)]
            {
                var fields = HTTPFields()
                fields[HTTPField.Name("apikey")!] = key
                let response = try await client.execute(uri: "/rest/v1/matchmaker_outbox?select=*", method: .get, headers: fields)
                #expect(response.status == status, "\(key)")
            }
        }
    }
}
