import Foundation
import Shared
import Testing

/// Issue 16: the JSON parser against generated values and mutated texts, differentially against Foundation.
@Suite struct JSONFuzzTests {
    /// What the two parsers made of one input.
    enum Verdict: Equatable {
        case accepted
        case rejected
        /// An input on which the parsers differ by design (see `deliberateDifference`).
        case excluded(String)
    }

    /// Inputs on which we differ from `JSONSerialization` on purpose, and why:
    /// - invalid UTF-8 is repaired to U+FFFD as `String(decoding:)` does, Foundation refuses it;
    /// - Foundation guesses UTF-16/32 from NUL bytes and a byte-order mark; we read UTF-8 only;
    /// - nesting deeper than 512 is an error here (never a stack overflow);
    /// - a `\u` escape of a lone surrogate is refused here, it cannot be a Unicode scalar;
    /// - a number beyond `Double` is refused here wherever it is; Foundation converts numbers lazily and
    ///   accepts one whose key a duplicate overwrites (`{"a":1e999,"a":2}`, found at seed 2026);
    /// - a trailing comma (`{"a":1,}`, `[1,]`) is refused here, as RFC 8259 and PostgreSQL do; Foundation
    ///   accepts it.
    static func deliberateDifference(_ bytes: [UInt8], ours: (any Error)?) -> String? {
        if String(validating: bytes, as: UTF8.self) == nil { return "invalid UTF-8" }
        if bytes.contains(0) || bytes.starts(with: [0xEF, 0xBB, 0xBF]) { return "encoding detection" }
        if let error = ours as? JSONParseError {
            if error.reason.hasPrefix("nested deeper") { return "nesting limit" }
            if error.reason == "unpaired surrogate" { return "lone surrogate" }
            if error.reason == "number out of range" { return "number out of range" }
            let before = bytes[..<min(error.offset, bytes.count)].last { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }
            let at = error.offset < bytes.count ? bytes[error.offset] : nil
            if before == UInt8(ascii: ","), at == UInt8(ascii: "}") || at == UInt8(ascii: "]") { return "trailing comma" }
        }
        return nil
    }

    /// Whether `bytes` holds a raw U+FEFF: Foundation drops one that starts a string, so values with one are
    /// compared for acceptance only.
    static func containsByteOrderMark(_ bytes: [UInt8]) -> Bool {
        bytes.indices.dropLast(2).contains { bytes[$0] == 0xEF && bytes[$0 + 1] == 0xBB && bytes[$0 + 2] == 0xBF }
    }

    /// Parses `bytes` with both parsers; records an issue when they disagree on acceptance or on the value.
    @discardableResult
    static func differential(_ bytes: [UInt8]) -> Verdict {
        let ours: Result<JSONValue, any Error> = Result { try JSONValue(parsing: bytes) }
        let theirs = Result { try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]) }
        if let reason = deliberateDifference(bytes, ours: ours.failureValue) { return .excluded(reason) }
        let text = String(decoding: bytes, as: UTF8.self)
        switch (ours, theirs) {
        case (.success(let value), .success(let object)):
            // Our value, written out and read by Foundation, is what Foundation read from the input.
            // Compared as Foundation writes both out, so that both sides go through the same object model.
            func written(_ object: Any) -> Data? {
                try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed])
            }
            let rendered = value.jsonBytes
            if Self.containsByteOrderMark(bytes) || Self.containsByteOrderMark(rendered) { return .accepted }
            let again = try? JSONSerialization.jsonObject(with: Data(rendered), options: [.fragmentsAllowed])
            #expect(again.flatMap(written) == written(object), "value differs on \(text.debugDescription)")
            return .accepted
        case (.failure, .failure):
            return .rejected
        case (.success, .failure(let error)):
            Issue.record("we accept what Foundation refuses (\(error)): \(text.debugDescription)")
        case (.failure(let error), .success):
            Issue.record("we refuse what Foundation accepts (\(error)): \(text.debugDescription)")
        }
        return .rejected
    }

    /// parse(render(v)) == v, and every spelling of v parses to v, for generated values.
    @Test func generatedValuesRoundTrip() async throws {
        try await FuzzBudget.current(defaultIterations: 1_500).run("json round trip") { (random: inout SplitMix64, _: Int) throws in
            let value = JSONGenerator.value(&random)
            #expect(try JSONValue(parsing: value.jsonBytes) == value)
            let spelled = JSONGenerator.text(value, &random)
            #expect(try JSONValue(parsing: spelled) == value, "\(spelled.debugDescription)")
            #expect(Self.differential(Array(spelled.utf8)) == .accepted)
        }
    }

    /// Mutated corpus texts and generated texts: never a crash, and accepted exactly when Foundation accepts.
    @Test func mutatedTextsAgreeWithFoundation() async throws {
        let corpus = FuzzFiles.corpus("json")
        try #require(corpus.count >= 5)
        let mutator = Mutator(tokens: JSONGenerator.tokens)
        var verdicts: [String: Int] = [:]
        await FuzzBudget.current(defaultIterations: 3_000).run("json differential") { random, _ in
            let seed = random.oneIn(3) ? Array(JSONGenerator.text(JSONGenerator.value(&random), &random).utf8) : random.pick(corpus)
            let input = mutator.mutate(seed, &random, splice: random.pick(corpus))
            let verdict = Self.differential(input)
            verdicts["\(verdict)", default: 0] += 1
        }
        // The mutations reach both sides of the grammar, or this test would prove little.
        #expect(verdicts["accepted", default: 0] > 0 && verdicts["rejected", default: 0] > 0, "\(verdicts)")
    }
}

extension Result {
    var failureValue: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
