import AsyncHTTPClient
import EmbeddedSupabase
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MatchmakerCore
import NIOCore
import Shared
import Synchronization
import TestSupport
import Testing

/// A stub Realtime server: every request to the socket path, upgrade or not, is answered with one status.
final class RefusingEndpoint: Sendable {
    /// One request to the socket path.
    struct Seen: Sendable, Hashable {
        /// A WebSocket upgrade (the client's attempt), or a plain GET (the status probe).
        var upgrade: Bool
        /// The `apikey` header, when there was one.
        var apiKeyHeader: String?
        /// The query string.
        var query: String
    }

    let status: Int
    /// Every request, as it arrives.
    let seen: AsyncStream<Seen>
    private let sink: AsyncStream<Seen>.Continuation
    private let log = Mutex<[Seen]>([])

    init(status: Int) {
        self.status = status
        (seen, sink) = AsyncStream.makeStream(of: Seen.self)
    }

    /// Every request so far.
    var requests: [Seen] { log.withLock { $0 } }

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/realtime/v1/websocket") { request, _ in
            let seen = Seen(
                upgrade: request.headers[.upgrade]?.lowercased() == "websocket",
                apiKeyHeader: request.headers[HTTPField.Name("apikey")!],
                query: request.uri.query ?? ""
            )
            self.log.withLock { $0.append(seen) }
            self.sink.yield(seen)
            return Response(
                status: HTTPResponse.Status(code: self.status),
                headers: [.contentType: "application/json"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"error":"refused by the test"}"#))
            )
        }
        return router
    }
}

/// Serves a `RefusingEndpoint` answering `status` on a free port for the duration of `body`.
private func withRefusingEndpoint(status: Int, _ body: @escaping @Sendable (Int, RefusingEndpoint) async throws -> Void) async throws {
    let endpoint = RefusingEndpoint(status: status)
    let app = Application(
        router: endpoint.router(), configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)), logger: testLogger
    )
    try await app.test(.live) { client in
        try await body(try #require(client.port), endpoint)
    }
}

/// An HTTP transport to `port` for the client's status probe, shut down after `body`.
private func withProbe(port: Int, _ body: @Sendable (any HTTPTransport) async throws -> Void) async throws {
    // Generous: a probe that timed out would leave the refusal unclassified, and the parallel suite is slow at first.
    let http = AsyncHTTPTransport.makeClient(connectTimeout: .seconds(10))
    let transport = AsyncHTTPTransport(
        client: http, baseURL: "http://127.0.0.1:\(port)", apiKey: "test-key", timeout: .seconds(30), logger: testLogger
    )
    do {
        try await body(transport)
    } catch {
        try await http.shutdown()
        throw error
    }
    try await http.shutdown()
}

@Suite struct HandshakeTests {
    @Test(arguments: [(401, false), (403, false), (404, false), (429, true), (500, true), (503, true), (400, true), (426, true)])
    func aRefusedHandshakeIsFinalOnlyForAuthAndTenantStatuses(status: Int, retryable: Bool) {
        let error = RealtimeError(.handshakeRefused, reason: "HTTP \(status) on the WebSocket handshake", status: status)
        #expect(error.failureClass.isRetryable == retryable)
        #expect(RealtimeError(.handshakeRefused, reason: "status not probed").failureClass.isRetryable)
    }

    @Test(arguments: [401, 403, 404])
    func anAuthOrTenantRefusalStopsAfterOneAttemptWithTheStatus(status: Int) async throws {
        try await withRefusingEndpoint(status: status) { port, endpoint in
            try await withProbe(port: port) { probe in
                try await withClient(
                    port: port, version: .v2, handshakeProbe: probe,
                    configure: {
                        // A retried refusal would show as a second upgrade below.
                        $0.channelBackoff = Backoff(maxRetries: 1, baseDelay: .milliseconds(20), maxDelay: .milliseconds(20))
                    }
                ) { client in
                    let channel = await client.channel("room-1")
                    let error = try await #require(throws: RealtimeError.self) { try await channel.subscribe() }
                    #expect(error.kind == .gaveUp)
                    #expect(error.status == status)
                    #expect(error.reason.contains("HTTP \(status) on the WebSocket handshake: refused by the test"))
                    #expect(await channel.events.next(where: \.isClosed) == .closed(error))

                    let requests = endpoint.requests
                    #expect(requests.filter(\.upgrade).count == 1)
                    let probes = requests.filter { !$0.upgrade }
                    #expect(probes.count == 1)
                    #expect(probes.first?.apiKeyHeader == "test-key")
                    #expect(probes.first?.query == "apikey=test-key&vsn=2.0.0")

                    let snapshot = client.monitor.snapshot
                    #expect(snapshot.failedConnections == 1)
                    #expect(snapshot.errorPatterns == ["HTTP \(status)": 1])
                    #expect(client.stats().channels == 0)
                }
            }
        }
    }

    @Test func theEmbeddedHubRefusingABadKeyEndsTheChannelAfterOneAttempt() async throws {
        try await withLiveServer(configure: { $0.jwtSecret = "test-secret-test-secret-test-secret" }) { port, backend in
            try await withProbe(port: port) { probe in
                try await withClient(port: port, version: .v2, handshakeProbe: probe) { client in
                    let channel = await client.channel("room-1")
                    let error = try await #require(throws: RealtimeError.self) { try await channel.subscribe() }
                    #expect(error.kind == .gaveUp)
                    #expect(error.status == 401)
                    // The hub's answer to a socket request with a key that is not a valid JWT, in Realtime's words.
                    #expect(error.reason.contains("HTTP 401 on the WebSocket handshake: The token provided is not a valid JWT"))
                    let snapshot = client.monitor.snapshot
                    #expect(snapshot.totalConnections == 1)
                    #expect(snapshot.errorPatterns == ["HTTP 401": 1])
                    #expect(backend.hub.joinsReceived == 0)
                }
            }
        }
    }

    /// Once given up on, a refused handshake keeps its class: the bot manager halts on a wrong key or URL.
    @Test func aGivenUpHandshakeKeepsTheClassOfItsStatus() {
        let fatal = RealtimeError(.gaveUp, reason: "not retryable after 1 attempt(s): HTTP 401", status: 401)
        #expect(!fatal.failureClass.isRetryable)
        #expect(ErrorClassifier.classify(fatal).isRetryable == false)
        #expect(RealtimeError(.gaveUp, reason: "socket lost", status: 503).failureClass.isRetryable)
        #expect(!RealtimeError(.gaveUp, reason: "Unauthorized: You do not have permissions").failureClass.isRetryable)
    }

    /// The probe's path carries the API key in its query: a failing probe must not put it into the error,
    /// which is logged and shown by `/stats`.
    @Test func aFailingProbeNeverLeaksTheKey() async throws {
        try await withRefusingEndpoint(status: 503) { port, _ in
            try await withClient(port: port, version: .v2, handshakeProbe: FailingProbe()) { client in
                let channel = await client.channel("room-1")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try? await channel.subscribe() }
                    try await eventually { client.monitor.snapshot.lastError != nil }
                    let lastError = client.monitor.snapshot.lastError ?? ""
                    #expect(lastError.contains("probing its status failed (transport)"), "\(lastError)")
                    #expect(!lastError.contains("test-key"))
                    group.cancelAll()
                }
            }
        }
    }

    @Test func aServiceUnavailableRefusalIsRetried() async throws {
        try await withRefusingEndpoint(status: 503) { port, endpoint in
            try await withProbe(port: port) { probe in
                try await withClient(port: port, version: .v2, handshakeProbe: probe) { client in
                    let channel = await client.channel("room-1")
                    await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { try await channel.subscribe() }
                        var upgrades = 0
                        for await seen in endpoint.seen where seen.upgrade {
                            upgrades += 1
                            if upgrades == 3 { break }
                        }
                        #expect(upgrades == 3)
                        // Two refusals were probed, counted, and followed by another attempt; the channel waits on.
                        #expect(endpoint.requests.filter { !$0.upgrade }.count >= 2)
                        #expect(client.monitor.snapshot.errorPatterns["HTTP 503", default: 0] >= 2)
                        #expect(client.stats().channels == 1)
                        group.cancelAll()
                    }
                }
            }
        }
    }
}

/// A probe whose transport fails the way `AsyncHTTPTransport` does: its message names the path, key included.
private struct FailingProbe: HTTPTransport {
    func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
        throw UpstreamError(kind: .transport, message: "\(request.method) \(request.path): connection reset by peer")
    }
}
