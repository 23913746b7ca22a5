import EmbeddedSupabase
import Foundation
import HTTPTypes
import HummingbirdTesting
import MatchmakerCore
import NIOCore
import Shared
import TestSupport
import Testing

/// The embedded hub's socket authentication: refusals as Realtime answers them, and the new API keys.
@Suite struct HubAuthTests {
    static let secret = "test-secret-test-secret-test-secret"

    /// The headers of a WebSocket upgrade request (RFC 6455 §4.1).
    static var upgradeHeaders: HTTPFields {
        var fields = HTTPFields()
        fields[.upgrade] = "websocket"
        fields[.connection] = "Upgrade"
        fields[.secWebSocketKey] = "dGhlIHNhbXBsZSBub25jZQ=="
        fields[.secWebSocketVersion] = "13"
        return fields
    }

    /// A bad or missing key on the upgrade request itself is 401 with `{"error": …}`, not a bare 400.
    @Test func aRefusedUpgradeIs401WithRealtimesReason() async throws {
        let expired = try await JWTVerifier.sign(SupabaseClaims(role: "anon", exp: Date().addingTimeInterval(-60)), secret: Self.secret)
        for (query, reason) in [
            ("vsn=2.0.0", "API key is missing"), ("apikey=not-a-jwt&vsn=2.0.0", "The token provided is not a valid JWT"),
            ("apikey=\(expired)&vsn=2.0.0", "The token provided is not a valid JWT"),
        ] {
            // One server (one connection) per request: only a connection's first request may be upgraded.
            try await withLiveHTTP(configure: { $0.jwtSecret = Self.secret }) { client, _ in
                let response = try await client.execute(uri: "/realtime/v1/websocket?\(query)", method: .get, headers: Self.upgradeHeaders)
                #expect(response.status == .unauthorized, "\(query)")
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
                #expect(try JSONValue(parsing: Data(response.body.readableBytesView)) == ["error": .string(reason)], "\(query)")
            }
        }
    }

    /// A configured secret key in `apikey` opens the socket (the gateway's mapping to `service_role`), and
    /// the client then joins with no `access_token` (the key is not a JWT).
    @Test func theSecretKeyOpensTheSocketAndJoins() async throws {
        let key = "sb_secret_embedded_test_key"
        try await withLiveHTTP(configure: { $0.serviceRoleKey = key }) { http, backend in
            let port = try #require(http.port)
            try await withClient(port: port, version: .v2, configure: { $0.apiKey = key }) { client in
                let channel = await client.channel("room-1")
                try await channel.subscribe()
                #expect(backend.hub.joinsReceived == 1)
                #expect(backend.hub.lastJoinAccessToken == .some(nil))
            }
            let stranger = "/realtime/v1/websocket?apikey=sb_secret_not_this_project&vsn=2.0.0"
            let refused = try await http.execute(uri: stranger, method: .get, headers: Self.upgradeHeaders)
            #expect(refused.status == .unauthorized)
        }
    }
}
