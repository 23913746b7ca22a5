import Foundation
import Logging
import MatchmakerCore
import Shared
import Testing

/// Issue 16: the fixture loader and runner on mutated fixture files: a fixture or a clear error, never a crash.
@Suite struct FixtureFuzzTests {
    static let fixtures = FuzzFiles.root.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("fixtures")

    /// Replaces one random node of `value` with a generated value (or drops it), so the file still parses
    /// and the mutation reaches the decoder and the runner rather than the JSON parser.
    static func mutateTree(_ value: JSONValue, _ random: inout SplitMix64) -> JSONValue {
        switch value {
        case .object(var fields) where !fields.isEmpty && !random.oneIn(6):
            let key = random.pick(fields.keys.sorted())
            if random.oneIn(8) {
                fields[key] = nil
            } else {
                fields[key] = mutateTree(fields[key] ?? .null, &random)
            }
            return .object(fields)
        case .array(var elements) where !elements.isEmpty && !random.oneIn(6):
            let index = random.below(elements.count)
            elements[index] = mutateTree(elements[index], &random)
            return .array(elements)
        default:
            return random.oneIn(2) ? JSONGenerator.value(&random, depth: 4) : random.pick(Self.edgeValues)
        }
    }

    static let edgeValues: [JSONValue] = [
        .number(JSONNumber(literal: "9223372036854775807") ?? 0), .number(JSONNumber(literal: "-9223372036854775808") ?? 0),
        .number(JSONNumber(literal: "1e308") ?? 0), .number(JSONNumber(literal: "-1e308") ?? 0), -1, 0, "", "2026-02-30T25:61:00Z",
        .number(JSONNumber(literal: "1e-300") ?? 0), .number(JSONNumber(literal: "4294967296") ?? 0), [], [:], .null,
    ]

    @Test func mutatedFixturesLoadOrFailClearly() async throws {
        let files = FuzzFiles.files(in: Self.fixtures).filter { $0.name.hasSuffix(".json") }
        try #require(files.count >= 10)
        let runner = FixtureRunner(logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
        let mutator = Mutator(tokens: JSONGenerator.tokens)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-fixture-\(getpid()).json")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var loaded = 0
        try await FuzzBudget.current(defaultIterations: 150).run("fixture mutations") { random, _ in
            let file = random.pick(files).bytes
            let input: [UInt8]
            if random.oneIn(3), let tree = try? JSONValue(parsing: file) {
                input = Self.mutateTree(tree, &random).jsonBytes
            } else {
                input = mutator.mutate(file, &random, splice: random.pick(files).bytes)
            }
            try Data(input).write(to: scratch)
            let fixture: Fixture
            do {
                fixture = try FixtureRunner.load(scratch)
            } catch {
                #expect(!"\(error)".isEmpty)
                return
            }
            loaded += 1
            do {
                _ = try await runner.check(fixture)
            } catch {
                #expect(!"\(error)".isEmpty)
            }
        }
        #expect(loaded > 0, "no mutant reached the runner")
    }
}
