import EmbeddedSupabase
import Foundation
import Logging
import MatchmakerCore
import Shared
import Synchronization
import TestSupport
import Testing

/// Issue 16: a subscriber that stops reading must not grow the hub's memory without bound.
@Suite(.timeLimit(.minutes(1))) struct SlowConsumerTests {
    @Test func aSubscriberThatStopsReadingIsDisconnectedOnceItsQueueIsFull() async throws {
        var settings = RealtimeHub.Settings()
        settings.maxOutboundBytes = 256 << 10
        let limit = settings.maxOutboundBytes
        let backend = EmbeddedBackend(hub: RealtimeHub(settings: settings))
        try await withLiveServer(backend: backend) { port, backend in
            let observations = backend.hub.observe()
            let checked = Mutex(false)
            // The server ends the socket, so closing it afterwards may fail (reset by peer); whatever that error,
            // the checks inside must all have run (`checked`), and a failed one is recorded where it fails.
            do {
                try await withRawSocket(port: port, version: .v2) { socket in
                    try await socket.send(PhoenixMessage(joinRef: "1", ref: "1", topic: "realtime:flood", event: "phx_join", payload: [:]))
                    let reply = try await socket.next()
                    #expect(reply.event == "phx_reply")
                    // From here on the client reads nothing: 5,000 broadcasts of 10 KB (50 MB) pile up behind it.
                    let blob = JSONValue.string(String(repeating: "x", count: 10_000))
                    for index in 0..<5_000 {
                        backend.hub.broadcast(name: "flood", event: "blob", payload: ["n": .number(JSONNumber(index)), "blob": blob])
                    }
                    var disconnected: Int?
                    for await observation in observations {
                        if case .slowConsumerDisconnected(_, let queued) = observation {
                            disconnected = queued
                            break
                        }
                    }
                    let queued = try #require(disconnected)
                    // It held at most its limit; the frame that would have taken it over is the one refused.
                    #expect(queued > limit)
                    #expect(queued <= limit + 10_100)
                    try await eventually { backend.hub.connectionCount == 0 }
                    checked.withLock { $0 = true }
                }
            } catch {
                testLogger.debug("the slow consumer's socket ended", metadata: ["error": "\(error)"])
            }
            #expect(checked.withLock { $0 })
            #expect(backend.hub.connectionCount == 0)
        }
    }
}
