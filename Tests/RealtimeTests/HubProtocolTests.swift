import EmbeddedSupabase
import Foundation
import Logging
import MatchmakerCore
import NIOCore
import NIOWebSocket
import Shared
import TestSupport
import Testing
import WSClient

/// One raw socket to the hub: send frames, read frames, no client logic in between.
struct RawSocket {
    let serializer: PhoenixSerializer
    let send: (PhoenixMessage) async throws -> Void
    let sendBinary: ([UInt8]) async throws -> Void
    let receive: () async throws -> (PhoenixMessage, binary: Bool)
    let receiveText: () async throws -> String

    /// The next message, as decoded.
    func next() async throws -> PhoenixMessage { try await receive().0 }
}

func withRawSocket(port: Int, version: ProtocolVersion?, _ body: @escaping @Sendable (RawSocket) async throws -> Void) async throws {
    let query = version.map { "?vsn=\($0.rawValue)" } ?? ""
    let serializer = PhoenixSerializer(version: version ?? .v1)
    try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/realtime/v1/websocket\(query)", logger: testLogger) {
        inbound, outbound, _ in
        var iterator = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
        let pending = RawFrames()
        let socket = RawSocket(
            serializer: serializer,
            send: { try await outbound.write(.text(serializer.encode($0))) },
            sendBinary: { try await outbound.write(.binary(ByteBuffer(bytes: $0))) },
            receive: {
                let message = try await pending.next(&iterator)
                switch message {
                case .text(let text): return (try serializer.decode(text: text), false)
                case .binary(let buffer): return (try serializer.decode(binary: Array(buffer.readableBytesView)), true)
                }
            },
            receiveText: {
                guard case .text(let text) = try await pending.next(&iterator) else { throw PhoenixDecodingError("binary") }
                return text
            }
        )
        try await body(socket)
        try await outbound.close(.normalClosure, reason: nil)
    }
}

/// Pulls the next message or fails when the socket closed.
struct RawFrames {
    func next(_ iterator: inout WebSocketInboundMessageStream.AsyncIterator) async throws -> WebSocketMessage {
        guard let message = try await iterator.next() else { throw RealtimeError(.socketClosed, reason: "closed") }
        return message
    }
}

@Suite(.timeLimit(.minutes(1))) struct HubProtocolTests {
    static let joinPayload = ChannelOptions(presenceKey: "k1", presenceEnabled: true).joinPayload(accessToken: "t")

    @Test func v2JoinRepliesThenSendsPresenceStateWithTheJoinRef() async throws {
        try await withLiveServer { port, _ in
            try await withRawSocket(port: port, version: .v2) { socket in
                try await socket.send(
                    PhoenixMessage(joinRef: "1", ref: "1", topic: "realtime:lobby", event: "phx_join", payload: Self.joinPayload))
                let reply = try await socket.next()
                #expect(
                    reply
                        == PhoenixMessage(
                            joinRef: "1", ref: "1", topic: "realtime:lobby", event: "phx_reply",
                            payload: [
                                "status": "ok", "response": ["postgres_changes": []],
                            ]))
                let state = try await socket.next()
                #expect(state == PhoenixMessage(joinRef: "1", topic: "realtime:lobby", event: "presence_state", payload: [:]))
                try await socket.send(PhoenixMessage(ref: "2", topic: "phoenix", event: "heartbeat"))
                #expect(
                    try await socket.next()
                        == PhoenixMessage(
                            ref: "2", topic: "phoenix", event: "phx_reply",
                            payload: [
                                "status": "ok", "response": [:],
                            ]))
            }
        }
    }

    @Test func v1IsTheDefaultAndServerFramesHaveNoJoinRef() async throws {
        try await withLiveServer { port, _ in
            try await withRawSocket(port: port, version: nil) { socket in
                try await socket.send(PhoenixMessage(joinRef: "1", ref: "1", topic: "realtime:a", event: "phx_join", payload: [:]))
                let text = try await socket.receiveText()
                let object = try JSONCoding.decoder.decode(JSONValue.self, from: Data(text.utf8))
                #expect(
                    object == [
                        "topic": "realtime:a", "event": "phx_reply", "ref": "1",
                        "payload": ["status": "ok", "response": ["postgres_changes": []]],
                    ])
            }
        }
    }

    @Test func unjoinedTopicsGetUnmatchedTopicAndEmptyTopicsAreRefused() async throws {
        try await withLiveServer { port, _ in
            try await withRawSocket(port: port, version: .v2) { socket in
                try await socket.send(PhoenixMessage(joinRef: "1", ref: "2", topic: "realtime:nope", event: "broadcast", payload: [:]))
                let reply = try await socket.next()
                #expect(reply.replyStatus == "error")
                #expect(reply.replyResponse == ["reason": "unmatched topic"])
                try await socket.send(PhoenixMessage(joinRef: "3", ref: "3", topic: "realtime:", event: "phx_join", payload: [:]))
                let refused = try await socket.next()
                #expect(refused.replyResponse["reason"]?.stringValue?.hasPrefix("TopicNameRequired") == true)
            }
        }
    }

    @Test func aDuplicateJoinClosesTheOldJoinAndStaleJoinRefsAreIgnored() async throws {
        try await withLiveServer { port, _ in
            try await withRawSocket(port: port, version: .v2) { socket in
                let ack = ChannelOptions(broadcastAck: true).joinPayload(accessToken: nil)
                try await socket.send(PhoenixMessage(joinRef: "1", ref: "1", topic: "realtime:r", event: "phx_join", payload: ack))
                _ = try await socket.next()
                try await socket.send(PhoenixMessage(joinRef: "2", ref: "2", topic: "realtime:r", event: "phx_join", payload: ack))
                #expect(
                    try await socket.next() == PhoenixMessage(joinRef: "1", ref: "1", topic: "realtime:r", event: "phx_close", payload: [:])
                )
                #expect(try await socket.next().replyStatus == "ok")
                // A push under the old join ref is dropped; one under the current ref is acknowledged.
                let body: JSONValue = ["type": "broadcast", "event": "e", "payload": [:]]
                try await socket.send(PhoenixMessage(joinRef: "1", ref: "3", topic: "realtime:r", event: "broadcast", payload: body))
                try await socket.send(PhoenixMessage(joinRef: "2", ref: "4", topic: "realtime:r", event: "broadcast", payload: body))
                #expect(try await socket.next().ref == "4")
            }
        }
    }

    @Test func aBinaryPushReachesV2SubscribersAsKind4AndV1SubscribersAsJSON() async throws {
        try await withLiveServer { port, _ in
            try await withClient(port: port, version: .v1) { v1 in
                let listener = await v1.channel("room:bin")
                try await listener.subscribe()
                try await withRawSocket(port: port, version: .v2) { socket in
                    let config = ChannelOptions(broadcastSelf: true).joinPayload(accessToken: nil)
                    try await socket.send(
                        PhoenixMessage(joinRef: "1", ref: "1", topic: "realtime:room:bin", event: "phx_join", payload: config))
                    _ = try await socket.next()
                    let topic = Array("realtime:room:bin".utf8), event = Array("move".utf8), data = Array(#"{"x":1}"#.utf8)
                    try await socket.sendBinary(
                        [3, 1, 1, UInt8(topic.count), UInt8(event.count), 0, 1] + Array("1".utf8) + Array("2".utf8) + topic + event + data
                    )
                    let (echo, binary) = try await socket.receive()
                    #expect(binary)
                    #expect(echo.payload == ["type": "broadcast", "event": "move", "payload": ["x": 1]])
                }
                #expect(
                    await listener.events.next { $0.broadcastEvent == "move" } == .broadcast(event: "move", payload: ["x": 1], meta: nil))
            }
        }
    }

    @Test func presenceOverTheBudgetGetsASystemErrorAndAClose() async throws {
        try await withLiveServer { port, _ in
            try await withRawSocket(port: port, version: .v2) { socket in
                try await socket.send(
                    PhoenixMessage(joinRef: "1", ref: "1", topic: "realtime:p", event: "phx_join", payload: Self.joinPayload))
                _ = try await socket.next()
                _ = try await socket.next()
                for index in 0..<6 {
                    let track: JSONValue = ["type": "presence", "event": "track", "payload": ["n": .number(JSONNumber(index))]]
                    try await socket.send(
                        PhoenixMessage(joinRef: "1", ref: "t\(index)", topic: "realtime:p", event: "presence", payload: track))
                }
                var events: [String] = []
                while events.last != "phx_close" { events.append(try await socket.next().event) }
                #expect(events.filter { $0 == "phx_reply" }.count == 5)
                #expect(events.contains("system"))
            }
        }
    }

    /// Issue 16: a presence meta of ~1 MB per channel cost ~100 MB per socket and went to every joiner. A broadcast
    /// payload or presence meta over 256 KB is refused with `payload_size_exceeded` and reaches nobody; one at the
    /// limit goes through.
    @Test func payloadsOverTheLimitAreRefusedAndReachNobody() async throws {
        var settings = RealtimeHub.Settings()
        settings.maxPayloadBytes = 1_000
        try await withLiveServer(backend: EmbeddedBackend(hub: RealtimeHub(settings: settings))) { port, backend in
            try await withRawSocket(port: port, version: .v2) { socket in
                let join = ChannelOptions(broadcastAck: true, broadcastSelf: true, presenceKey: "me", presenceEnabled: true)
                    .joinPayload(accessToken: nil)
                try await socket.send(PhoenixMessage(joinRef: "1", ref: "1", topic: "realtime:big", event: "phx_join", payload: join))
                #expect(try await socket.next().replyStatus == "ok")
                #expect(try await socket.next().event == "presence_state")

                // {"blob":"x…x"} is 11 bytes of JSON around the string.
                let tooBig: JSONValue = ["blob": .string(String(repeating: "x", count: 990))]
                let atLimit: JSONValue = ["blob": .string(String(repeating: "x", count: 989))]
                let track: JSONValue = ["type": "presence", "event": "track", "payload": tooBig]
                try await socket.send(PhoenixMessage(joinRef: "1", ref: "2", topic: "realtime:big", event: "presence", payload: track))
                let refusedTrack = try await socket.next()
                #expect(refusedTrack.replyStatus == "error")
                #expect(refusedTrack.payload["response"] == ["error": "payload_size_exceeded"])
                #expect(backend.hub.presence(of: "big").isEmpty)

                let broadcast: JSONValue = ["type": "broadcast", "event": "e", "payload": tooBig]
                try await socket.send(PhoenixMessage(joinRef: "1", ref: "3", topic: "realtime:big", event: "broadcast", payload: broadcast))
                let refusedBroadcast = try await socket.next()
                #expect(refusedBroadcast.ref == "3")
                #expect(refusedBroadcast.payload["response"] == ["error": "payload_size_exceeded"])

                // At the limit: delivered to itself (self: true) and acknowledged; nothing of the refused one came first.
                let fits: JSONValue = ["type": "broadcast", "event": "e", "payload": atLimit]
                try await socket.send(PhoenixMessage(joinRef: "1", ref: "4", topic: "realtime:big", event: "broadcast", payload: fits))
                let delivered = try await socket.next()
                #expect(delivered.event == "broadcast")
                #expect(delivered.payload["payload"] == atLimit)
                #expect(try await socket.next().ref == "4")
            }
        }
    }
}
