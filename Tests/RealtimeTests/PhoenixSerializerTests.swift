import Foundation
import Shared
import Testing

@Suite struct PhoenixSerializerTests {
    let join = PhoenixMessage(joinRef: "1", ref: "1", topic: "realtime:room-1", event: "phx_join", payload: ["a": 1])

    @Test func v2EncodesAFiveElementArray() {
        let text = PhoenixSerializer(version: .v2).encode(join)
        #expect(text == #"["1","1","realtime:room-1","phx_join",{"a":1}]"#)
    }

    @Test func v2HeartbeatHasANullJoinRef() {
        let heartbeat = PhoenixMessage(ref: "26", topic: "phoenix", event: "heartbeat")
        #expect(PhoenixSerializer(version: .v2).encode(heartbeat) == #"[null,"26","phoenix","heartbeat",{}]"#)
    }

    @Test func v1ClientFramesCarryJoinRefAndServerFramesDoNot() throws {
        let serializer = PhoenixSerializer(version: .v1)
        let client = try JSONCoding.decoder.decode(JSONValue.self, from: Data(serializer.encode(join).utf8))
        #expect(client["join_ref"] == "1")
        #expect(client["ref"] == "1")
        let server = try JSONCoding.decoder.decode(JSONValue.self, from: Data(serializer.encode(join, includeJoinRef: false).utf8))
        #expect(server["join_ref"] == nil)
    }

    @Test(arguments: ProtocolVersion.allCases)
    func textFramesRoundTrip(version: ProtocolVersion) throws {
        let serializer = PhoenixSerializer(version: version)
        #expect(try serializer.decode(text: serializer.encode(join)) == join)
        let reply = PhoenixMessage(ref: "3", topic: "phoenix", event: "phx_reply", payload: ["status": "ok", "response": [:]])
        #expect(try serializer.decode(text: serializer.encode(reply)) == reply)
    }

    @Test func v1DecodesNullRefs() throws {
        let message = try PhoenixSerializer(version: .v1).decode(
            text: #"{"topic":"realtime:a","event":"broadcast","payload":{"type":"broadcast"},"ref":null}"#
        )
        #expect(message.ref == nil)
        #expect(message.joinRef == nil)
    }

    @Test(arguments: [
        (ProtocolVersion.v2, #"{"topic":"a","event":"b","payload":{},"ref":null}"#),
        (.v2, #"["1","2","t","e"]"#),
        (.v1, #"["1","2","t","e",{}]"#),
        (.v1, #"{"topic":"a","event":"b","payload":{}}"#),
        (.v1, "not json"),
    ])
    func malformedFramesAreRejected(version: ProtocolVersion, text: String) {
        #expect(throws: PhoenixDecodingError.self) { try PhoenixSerializer(version: version).decode(text: text) }
    }

    @Test func kind4UserBroadcastDecodesToABroadcastMessage() throws {
        let serializer = PhoenixSerializer(version: .v2)
        let frame = try #require(
            serializer.encodeUserBroadcast(topic: "realtime:room-1", event: "cursor", payload: ["x": 1], meta: ["id": "m1"]))
        #expect(frame[0] == 4)
        let message = try serializer.decode(binary: frame)
        #expect(message.event == "broadcast")
        #expect(message.topic == "realtime:room-1")
        #expect(message.payload == ["type": "broadcast", "event": "cursor", "payload": ["x": 1], "meta": ["id": "m1"]])
    }

    @Test func kind3UserBroadcastPushDecodesWithRefs() throws {
        let topic = Array("realtime:r".utf8), event = Array("hi".utf8), data = Array(#"{"n":2}"#.utf8)
        let frame: [UInt8] =
            [3, 1, 1, UInt8(topic.count), UInt8(event.count), 0, 1] + Array("5".utf8) + Array("7".utf8) + topic + event + data
        let message = try PhoenixSerializer(version: .v2).decode(binary: frame)
        #expect(message.joinRef == "5")
        #expect(message.ref == "7")
        #expect(message.payload["payload"] == ["n": 2])
    }

    @Test func truncatedAndV1BinaryFramesAreRejected() {
        #expect(throws: PhoenixDecodingError.self) { try PhoenixSerializer(version: .v2).decode(binary: [4, 10, 1]) }
        #expect(throws: PhoenixDecodingError.self) { try PhoenixSerializer(version: .v1).decode(binary: [4, 0, 0, 0, 1]) }
        #expect(throws: PhoenixDecodingError.self) { try PhoenixSerializer(version: .v2).decode(binary: [9]) }
    }

    @Test func joinPayloadCarriesTheFullConfigAndAccessToken() {
        let options = ChannelOptions(broadcastAck: true, broadcastSelf: true, presenceKey: "u1", presenceEnabled: true)
        #expect(
            options.joinPayload(accessToken: "jwt") == [
                "config": [
                    "broadcast": ["ack": true, "self": true], "presence": ["key": "u1", "enabled": true], "postgres_changes": [],
                    "private": false,
                ],
                "access_token": "jwt",
            ]
        )
    }

    @Test(arguments: [
        ("http://127.0.0.1:8080", "ws://127.0.0.1:8080/realtime/v1/websocket?apikey=k%2B1&vsn=2.0.0"),
        ("https://abc.supabase.co/", "wss://abc.supabase.co/realtime/v1/websocket?apikey=k%2B1&vsn=2.0.0"),
    ])
    func socketURLFollowsSupabase(base: String, expected: String) {
        #expect(RealtimeConfiguration(url: base, apiKey: "k+1").socketURL == expected)
    }
}
