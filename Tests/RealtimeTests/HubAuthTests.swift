import EmbeddedSupabase
import Foundation
import MatchmakerCore
import Shared
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The embedded hub's socket authentication: refusals as Realtime answers them, and the new API keys.
@Suite struct HubAuthTests {
    static let secret = "test-secret-test-secret-test-secret"

    /// A bad or missing key on a real upgrade request (`Connection: Upgrade`, over a raw socket) is 401
    /// with `{"error": …}`, not hummingbird-websocket's bare 400.
    @Test func aRefusedUpgradeOverARawSocketIs401WithAReason() async throws {
        let expired = try await JWTVerifier.sign(SupabaseClaims(role: "anon", exp: Date().addingTimeInterval(-60)), secret: Self.secret)
        try await withLiveServer(configure: { $0.jwtSecret = Self.secret }) { port, _ in
            for (query, reason) in [
                ("vsn=2.0.0", "API key is missing"), ("apikey=bad&vsn=2.0.0", "The token provided is not a valid JWT"),
                ("apikey=\(expired)&vsn=2.0.0", "The token provided is not a valid JWT"),
            ] {
                let answer = try RawHTTP.exchange(
                    port: port,
                    "GET /realtime/v1/websocket?\(query) HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                        + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
                #expect(answer.hasPrefix("HTTP/1.1 401"), "\(answer)")
                #expect(answer.hasSuffix(#"{"error":"\#(reason)"}"#), "\(answer)")
            }
        }
    }

    /// A configured secret key in `apikey` opens the socket (the gateway's mapping to `service_role`), and
    /// the client then joins with no `access_token` (the key is not a JWT).
    @Test func theSecretKeyOpensTheSocketAndJoins() async throws {
        let key = "sb_secret_embedded_test_key"
        try await withLiveServer(configure: { $0.serviceRoleKey = key }) { port, backend in
            try await withClient(port: port, version: .v2, configure: { $0.apiKey = key }) { client in
                let channel = await client.channel("room-1")
                try await channel.subscribe()
                #expect(backend.hub.joinsReceived == 1)
                #expect(backend.hub.lastJoinAccessToken == .some(nil))
            }
            let refused = try RawHTTP.exchange(
                port: port,
                "GET /realtime/v1/websocket?apikey=sb_secret_not_this_project&vsn=2.0.0 HTTP/1.1\r\nHost: localhost\r\n"
                    + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    + "Sec-WebSocket-Version: 13\r\n\r\n")
            #expect(refused.hasPrefix("HTTP/1.1 401"))
        }
    }
}

/// One HTTP exchange over a plain TCP socket, for requests an HTTP client library would not send as is.
enum RawHTTP {
    /// Sends `request` to 127.0.0.1:`port` and returns the response: its head and `Content-Length` bytes of body.
    static func exchange(port: Int, _ request: String) throws -> String {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw RawHTTPError(step: "socket") }
        defer { close(socket) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw RawHTTPError(step: "connect") }
        let bytes = Array(request.utf8)
        guard write(socket, bytes, bytes.count) == bytes.count else { throw RawHTTPError(step: "write") }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let text = String(decoding: received, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let head = text[..<end.lowerBound].lowercased()
                let length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count - text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound) >= length { return text }
            }
            let count = read(socket, &buffer, buffer.count)
            guard count > 0 else { return String(decoding: received, as: UTF8.self) }
            received += buffer[0..<count]
        }
    }
}

struct RawHTTPError: Error {
    var step: String
}
