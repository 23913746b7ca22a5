import EmbeddedSupabase
import Foundation
import MatchmakerCore
import Shared
import TestSupport
import Testing

/// Issue 16 item 4, the embedded hub's per-client caps: sockets per client address (refused at the upgrade
/// with 429 and a reason) and presence meta bytes per socket (a track beyond them is refused).
@Suite(.timeLimit(.minutes(1))) struct HubLimitsTests {
    static let upgrade =
        "GET /realtime/v1/websocket?vsn=2.0.0 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

    /// Opens a raw connection and asks for the socket upgrade; returns the connection and the answer.
    static func requestSocket(port: Int) async throws -> (RawConnection, RawConnection.Reading) {
        let connection = try await RawConnection.open(port: port)
        try await connection.send(upgrade)
        return (connection, try await connection.readResponse())
    }

    @Test func socketsBeyondTheCapOfAnAddressGet429UntilOneCloses() async throws {
        var settings = RealtimeHub.Settings()
        settings.maxSocketsPerAddress = 2
        settings.loopbackExempt = false
        try await withLiveServer(backend: EmbeddedBackend(hub: RealtimeHub(settings: settings))) { port, backend in
            let (first, firstAnswer) = try await Self.requestSocket(port: port)
            defer { first.close() }
            let (second, secondAnswer) = try await Self.requestSocket(port: port)
            defer { second.close() }
            #expect(firstAnswer.status == 101)
            #expect(secondAnswer.status == 101)
            #expect(backend.hub.sockets(from: "127.0.0.1") == 2)

            let (third, thirdAnswer) = try await Self.requestSocket(port: port)
            defer { third.close() }
            #expect(thirdAnswer.status == 429)
            #expect(thirdAnswer.text.hasSuffix(#"{"error":"Too many sockets from this address"}"#))

            first.close()
            try await eventually { backend.hub.sockets(from: "127.0.0.1") == 1 }
            let (fourth, fourthAnswer) = try await Self.requestSocket(port: port)
            defer { fourth.close() }
            #expect(fourthAnswer.status == 101)
        }
    }

    /// `matchmaker bots` on another host opens a socket per bot with the service role: those need no slot.
    @Test func theServiceRoleIsNotCounted() async throws {
        var settings = RealtimeHub.Settings()
        settings.maxSocketsPerAddress = 1
        settings.loopbackExempt = false
        let secret = "hub-limits-secret-0123456789abcdef0123456789"
        let service = try await JWTVerifier.sign(SupabaseClaims(role: "service_role", exp: Date().addingTimeInterval(600)), secret: secret)
        let anon = try await JWTVerifier.sign(SupabaseClaims(role: "anon", exp: Date().addingTimeInterval(600)), secret: secret)
        let backend = EmbeddedBackend(hub: RealtimeHub(settings: settings))
        try await withLiveServer(backend: backend, configure: { $0.jwtSecret = secret }) { port, backend in
            var statuses: [Int?] = []
            var held: [RawConnection] = []
            for token in [service, service, anon, anon] {
                let connection = try await RawConnection.open(port: port)
                held.append(connection)
                try await connection.send(Self.upgrade.replacingOccurrences(of: "\r\n\r\n", with: "\r\napikey: \(token)\r\n\r\n"))
                statuses.append(try await connection.readResponse().status)
            }
            held.forEach { $0.close() }
            #expect(statuses == [101, 101, 101, 429])
            #expect(backend.hub.sockets(from: "127.0.0.1") <= 1)
        }
    }

    /// The in-process bots open a socket per bot from 127.0.0.1: loopback is exempt by default.
    @Test func loopbackIsExemptByDefault() async throws {
        var settings = RealtimeHub.Settings()
        settings.maxSocketsPerAddress = 1
        try await withLiveServer(backend: EmbeddedBackend(hub: RealtimeHub(settings: settings))) { port, backend in
            let (first, firstAnswer) = try await Self.requestSocket(port: port)
            defer { first.close() }
            let (second, secondAnswer) = try await Self.requestSocket(port: port)
            defer { second.close() }
            #expect([firstAnswer.status, secondAnswer.status] == [101, 101])
            #expect(backend.hub.sockets(from: "127.0.0.1") == 0)
        }
    }

    /// A socket's presence metas across its channels are capped (2,500 bytes here): the track that would go
    /// beyond is refused and changes nothing; replacing a meta counts it once; an untrack frees its bytes.
    @Test func presenceBytesOfASocketAreCappedAcrossItsChannels() async throws {
        var settings = RealtimeHub.Settings()
        settings.maxPresenceBytesPerSocket = 2_500
        try await withLiveServer(backend: EmbeddedBackend(hub: RealtimeHub(settings: settings))) { port, backend in
            try await withRawSocket(port: port, version: .v2) { socket in
                let join = ChannelOptions(presenceKey: "me", presenceEnabled: false).joinPayload(accessToken: nil)
                for topic in ["a", "b", "c"] {
                    try await socket.send(
                        PhoenixMessage(joinRef: topic, ref: topic, topic: "realtime:\(topic)", event: "phx_join", payload: join))
                    #expect(try await socket.next().replyStatus == "ok")
                }
                // {"blob":"x…x"} is 11 bytes of JSON around the string: 1,000 bytes.
                let meta: JSONValue = ["blob": .string(String(repeating: "x", count: 989))]
                var ref = 0
                func presence(_ topic: String, _ event: String) async throws -> PhoenixMessage {
                    ref += 1
                    let payload: JSONValue = ["type": "presence", "event": .string(event), "payload": meta]
                    try await socket.send(
                        PhoenixMessage(joinRef: topic, ref: "p\(ref)", topic: "realtime:\(topic)", event: "presence", payload: payload))
                    return try await socket.next()
                }
                #expect(try await presence("a", "track").replyStatus == "ok")
                #expect(try await presence("b", "track").replyStatus == "ok")
                let refused = try await presence("c", "track")
                #expect(refused.replyStatus == "error")
                #expect(refused.payload["response"] == ["error": "presence_limit_exceeded"])
                #expect(backend.hub.presence(of: "c").isEmpty)

                #expect(try await presence("a", "track").replyStatus == "ok", "a replaced meta counted twice")
                #expect(try await presence("b", "untrack").replyStatus == "ok")
                #expect(try await presence("c", "track").replyStatus == "ok", "an untracked meta still counted")
                #expect(backend.hub.presence(of: "c")["me"]?.count == 1)
                #expect(backend.hub.presenceTopicCount == 2, "b, untracked by its only member, is forgotten")
            }
        }
    }
}
