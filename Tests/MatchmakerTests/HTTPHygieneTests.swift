import EmbeddedSupabase
import Foundation
import Hummingbird
import HummingbirdTesting
import MatchmakerCore
import NIOHTTP1
import Shared
import TestSupport
import Testing

/// Issue 16 item 3, over raw sockets: a request the HTTP parser refuses gets a status line and then EOF, slow
/// headers are cut after the header timeout, an idle keep-alive connection is closed, and the connection cap
/// refuses the connection beyond it while established ones keep answering. Each test runs against both kinds
/// of server we build: `serve` on the embedded backend (HTTP with WebSocket upgrades) and the plain HTTP/1
/// server of `serve` on the other backends and of `matchmaker bots` (`HTTPServerBuilder.guardedHTTP1`).
@Suite struct HTTPHygieneTests {
    enum Server: String, CaseIterable, CustomTestStringConvertible {
        case embedded, plain
        var testDescription: String { rawValue }
    }

    /// A request the parser refuses, and the statuses that may answer it.
    struct Reproduction: Sendable, CustomTestStringConvertible {
        var name: String
        var bytes: [UInt8]
        var statuses: Set<Int>
        var testDescription: String { name }

        static let all: [Reproduction] = [
            Reproduction(name: "method FOO", bytes: Array("FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8), statuses: [400]),
            Reproduction(name: "HTTP/9.9", bytes: Array("GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n".utf8), statuses: [505]),
            Reproduction(
                name: "TLS ClientHello",
                bytes: [0x16, 0x03, 0x01, 0x00, 0x6a, 0x01, 0x00, 0x00, 0x66, 0x03, 0x03] + [UInt8](repeating: 0x2a, count: 96),
                statuses: [400]),
            Reproduction(
                name: "Content-Length with Transfer-Encoding",
                bytes: Array(
                    "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".utf8),
                statuses: [400]),
            Reproduction(
                name: "81 KB header block",
                bytes: Array(
                    ("GET /healthz HTTP/1.1\r\nHost: x\r\n"
                        + (0..<200).map { "X-Filler-\($0): \(String(repeating: "a", count: 400))\r\n" }.joined() + "\r\n").utf8),
                statuses: [431]),
            Reproduction(
                name: "100 KB URL",
                bytes: Array("GET /healthz?q=\(String(repeating: "a", count: 100_000)) HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
                statuses: [414]),
        ]
    }

    /// Runs `server` with `limits` on a free port for `body`. The test framework's own client connects at the
    /// start; with `warmUp` it has been answered a `/healthz` (so it holds a connection) before `body` runs.
    static func withServer(
        _ server: Server, limits: HTTPLimits = HTTPLimits(), warmUp: Bool = false, _ body: @escaping @Sendable (Int) async throws -> Void
    ) async throws {
        let run: @Sendable (any TestClientProtocol) async throws -> Void = { client in
            if warmUp { #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok) }
            try await body(try #require(client.port))
        }
        switch server {
        case .embedded:
            try await withLiveHTTP(configure: { $0.httpLimits = limits }) { client, _ in try await run(client) }
        case .plain:
            let router = Router()
            router.get("/healthz") { _, _ in "ok" }
            let app = Application(
                router: router, server: .guardedHTTP1(limits),
                configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)), logger: testLogger)
            try await app.test(.live) { client in try await run(client) }
        }
    }

    @Test(arguments: Server.allCases, Reproduction.all)
    func aRequestTheParserRefusesGetsAStatusAndThenEOF(server: Server, reproduction: Reproduction) async throws {
        try await Self.withServer(server) { port in
            let connection = try await RawConnection.open(port: port)
            defer { connection.close() }
            try await connection.send(reproduction.bytes)
            let reading = try await connection.readToEnd()
            #expect(reading.ended, "the connection stays open")
            #expect(reading.status.map(reproduction.statuses.contains) == true, "answered \(reading.text.prefix(40))")
            #expect(reading.text.contains(#"{"error":"#))
        }
    }

    /// One header line every 300 ms would keep a connection forever; the head must be complete within the header
    /// timeout (2 s here), after which the server answers 408 and closes. (The idle timeout, 10 min here, is not
    /// what cuts it.)
    /// A 2 s header timeout with an idle timeout far beyond it, so only the header timeout can cut.
    static let slowHeaderLimits: HTTPLimits = {
        var limits = HTTPLimits()
        limits.headerTimeout = .seconds(2)
        limits.idleTimeout = .seconds(600)
        return limits
    }()

    /// A request head sent one header line every 300 ms; what the server answered when it cut it, or `nil`.
    static func dribbleSlowHead(on connection: RawConnection) async throws -> RawConnection.Reading? {
        let lines = ["GET /healthz HTTP/1.1\r\n"] + (0..<200).map { "X-Slow-\($0): 1\r\n" }
        return try await connection.dribble(lines, interval: .milliseconds(300))
    }

    @Test(arguments: Server.allCases)
    func slowHeadersAreCutAfterTheHeaderTimeout(server: Server) async throws {
        try await Self.withServer(server, limits: Self.slowHeaderLimits) { port in
            let connection = try await RawConnection.open(port: port)
            defer { connection.close() }
            let cut = try #require(try await Self.dribbleSlowHead(on: connection), "every slow line was accepted")
            #expect(cut.status == 408 || cut.bytes.isEmpty)
        }
    }

    /// The header timeout also runs for the next request of a keep-alive connection, from its first byte.
    @Test(arguments: Server.allCases)
    func theNextRequestsSlowHeadersAreCutToo(server: Server) async throws {
        try await Self.withServer(server, limits: Self.slowHeaderLimits) { port in
            let connection = try await RawConnection.open(port: port)
            defer { connection.close() }
            try await connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            let first = try await connection.readResponse()
            #expect(first.status == 200, "\(first.text)")
            let cut = try #require(try await Self.dribbleSlowHead(on: connection), "every slow line was accepted")
            #expect(cut.status == 408 || cut.bytes.isEmpty, "\(cut.text)")
        }
    }

    @Test(arguments: Server.allCases)
    func anIdleKeepAliveConnectionIsClosed(server: Server) async throws {
        var limits = HTTPLimits()
        limits.idleTimeout = .seconds(1)
        try await Self.withServer(server, limits: limits) { port in
            let connection = try await RawConnection.open(port: port)
            defer { connection.close() }
            try await connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            let reading = try await connection.readToEnd()
            #expect(reading.status == 200)
            #expect(reading.ended, "the idle connection stays open")
        }
    }

    /// With room for three connections (the test client's and two of ours), a fourth is answered 503 and
    /// closed while the others keep answering; once one of them closes, a new connection is served.
    @Test(arguments: Server.allCases)
    func theConnectionCapRefusesTheNextAndFreesASlotWhenOneCloses(server: Server) async throws {
        var limits = HTTPLimits()
        limits.maxConnections = 3
        try await Self.withServer(server, limits: limits, warmUp: true) { port in
            let held = [try await RawConnection.open(port: port), try await RawConnection.open(port: port)]
            defer { held.forEach { $0.close() } }
            for connection in held {
                try await connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                #expect(try await connection.readResponse().status == 200)
            }
            let refused = try await RawConnection.open(port: port)
            defer { refused.close() }
            let reading = try await refused.readToEnd()
            #expect(reading.status == 503)
            #expect(reading.ended)

            try await held[0].send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try await held[0].readResponse().status == 200, "an established connection stops answering")

            held[1].close()
            var served = false
            for _ in 0..<100 where !served {
                let next = try await RawConnection.open(port: port)
                defer { next.close() }
                try? await next.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                served = try await next.readResponse().status == 200
                if !served { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(served, "the closed connection's slot was never freed")
        }
    }

    @Test func refusalsNameTheirStatus() {
        #expect(HTTPRefusal.answer(to: .headerOverflow, inRequestLine: true).status == .uriTooLong)
        #expect(HTTPRefusal.answer(to: .headerOverflow, inRequestLine: false).status == .requestHeaderFieldsTooLarge)
        #expect(HTTPRefusal.answer(to: .invalidVersion, inRequestLine: true).status == .httpVersionNotSupported)
        #expect(HTTPRefusal.answer(to: .invalidMethod, inRequestLine: true).status == .badRequest)
        #expect(HTTPRefusal(status: .badRequest, reason: #"a "quoted" \ reason"#).body == #"{"error":"a \"quoted\" \\ reason"}"#)
    }
}
