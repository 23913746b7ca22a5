import Foundation
import Shared
import Testing

/// Issue 16: the Phoenix frame codec, vsn 1.0.0 and 2.0.0: decoding never crashes and encoding round-trips.
@Suite struct PhoenixFuzzTests {
    static func message(_ random: inout SplitMix64) -> PhoenixMessage {
        func ref() -> String? { random.oneIn(3) ? nil : String(random.below(1000)) }
        return PhoenixMessage(
            joinRef: ref(), ref: ref(), topic: "realtime:" + JSONGenerator.string(&random), event: JSONGenerator.string(&random),
            payload: JSONGenerator.value(&random))
    }

    @Test(arguments: ProtocolVersion.allCases)
    func textFramesRoundTripAndMutantsNeverCrash(version: ProtocolVersion) async throws {
        let serializer = PhoenixSerializer(version: version)
        let corpus = FuzzFiles.corpus("phoenix") + FuzzFiles.corpus("json")
        let mutator = Mutator(tokens: JSONGenerator.tokens)
        await FuzzBudget.current(defaultIterations: 1_000).run("phoenix text \(version.rawValue)") { random, _ in
            let message = Self.message(&random)
            let frame = serializer.encode(message)
            #expect((try? serializer.decode(text: frame)) == message, "\(frame)")
            let mutant = mutator.mutate(random.oneIn(2) ? Array(frame.utf8) : random.pick(corpus), &random, splice: random.pick(corpus))
            // Either a message or a PhoenixDecodingError; anything else (or a trap) fails the test.
            do {
                _ = try serializer.decode(text: String(decoding: mutant, as: UTF8.self))
            } catch {
                #expect(error is PhoenixDecodingError)
            }
        }
    }

    @Test func binaryFramesRoundTripAndMutantsNeverCrash() async throws {
        let serializer = PhoenixSerializer(version: .v2)
        let mutator = Mutator(tokens: JSONGenerator.tokens + [[3], [4], [255], [0]])
        await FuzzBudget.current(defaultIterations: 1_000).run("phoenix binary") { random, _ in
            let topic = "realtime:" + String(repeating: "t", count: random.below(300))
            let event = JSONGenerator.string(&random)
            let payload = JSONGenerator.value(&random)
            let meta: JSONValue? = random.oneIn(2) ? nil : JSONGenerator.value(&random)
            guard let frame = serializer.encodeUserBroadcast(topic: topic, event: event, payload: payload, meta: meta) else {
                // Only what the one-byte lengths cannot carry is refused (the hub then sends a text frame).
                #expect(topic.utf8.count > 255 || (meta?.jsonBytes.count ?? 0) > 255)
                return
            }
            let decoded = try? serializer.decode(binary: frame)
            #expect(decoded?.topic == topic)
            #expect(decoded?.payload["event"] == .string(event))
            #expect(decoded?.payload["payload"] == payload)
            let mutant = mutator.mutate(frame, &random, splice: Array(topic.utf8))
            do {
                _ = try serializer.decode(binary: mutant)
            } catch {
                #expect(error is PhoenixDecodingError)
            }
        }
    }
}
