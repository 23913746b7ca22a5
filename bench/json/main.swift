import CJansson
import Foundation

// The JSON parser benchmark (issue 16): our `JSONValue(parsing:)` against Foundation's `JSONSerialization`
// and jansson on the texts the service parses, plus a correctness differential on hand-written texts.
// Run it in release: `swift run -c release JSONBench` (results: bench/RESULTS.md). Our parser's files
// are symbolic links to Sources/Shared/Wire, compiled into this program, so that the benchmark builds
// without the whole of Shared's dependencies (NIO, AsyncHTTPClient, jwt-kit) in release.

/// A fixed-seed generator for the inputs (SplitMix64).
struct Seeded: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// One parser under test: parses the bytes, `true` when it accepted them.
struct Parser {
    var name: String
    var parse: ([UInt8]) -> Bool
}

let parsers = [
    Parser(name: "ours (JSONValue)") { bytes in
        do {
            _ = try JSONValue(parsing: bytes)
            return true
        } catch {
            return false
        }
    },
    Parser(name: "Foundation JSONSerialization") { bytes in
        do {
            _ = try JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            return true
        } catch {
            return false
        }
    },
    Parser(name: "jansson 2.14") { bytes in
        var error = json_error_t()
        let value = bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { json_loadb($0.baseAddress, $0.count, Int(JSON_DECODE_ANY | JSON_ALLOW_NUL), &error) }
        }
        guard let value else { return false }
        cjansson_decref(value)
        return true
    },
]

// MARK: - Inputs

/// The texts the service parses, built like the real ones.
func inputs() -> [(name: String, bytes: [UInt8])] {
    var random = Seeded(state: 16)
    func id() -> String { String((0..<24).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement(using: &random) ?? "x" }) }
    let frame =
        #"["3","17","realtime:global:lobby","presence_diff",{"joins":{"\#(id())":{"metas":[{"phx_ref":"GBjN1_2Vs0DC2xXC","#
        + #""user_id":"\#(id())","continent":"Europe","online_at":"2026-12-03T06:28:48.123456+00:00"}]}},"leaves":{}}]"#
    let message = #"{"userId":"\#(id())","continent":"North America","enqueuedAt":"2026-12-03T06:28:48.123Z","attempt":1}"#
    let rows = (1...20).map { index in
        #"{"msg_id":\#(9_000_000_000 + index),"read_ct":1,"enqueued_at":"2026-12-03T06:28:48.123456+00:00","#
            + #""vt":"2026-12-03T06:29:18.123456+00:00","message":{"userId":"\#(id())","continent":"Asia"},"headers":null}"#
    }
    let chat = (1...20).map { index in
        #"{"id":"\#(id())","room_id":"\#(id())","sender_id":"\#(id())","#
            + #""content":"hi \#(index) \u00e9\u4e2d \ud83d\ude00 \"quoted\" \\ line\nbreak","created_at":"2026-12-03T06:28:48.5+00:00"}"#
    }
    let large = (1...10_000).map { index in
        #"{"id":"\#(id())","users":["\#(id())","\#(id())"],"attempts":\#(index % 7),"score":\#(Double(index) / 7.0),"#
            + #""is_bot":\#(index % 3 == 0),"ended_at":null,"meta":{"continent":"Europe","depth":[1,[2,[3]]]}}"#
    }
    return [
        ("Realtime presence_diff frame", Array(frame.utf8)),
        ("pgmq message", Array(message.utf8)),
        ("REST body: pgmq read, 20 rows", Array(("[" + rows.joined(separator: ",") + "]").utf8)),
        ("REST body: 20 chat messages", Array(("[" + chat.joined(separator: ",") + "]").utf8)),
        ("large array: 10,000 rows", Array(("[" + large.joined(separator: ",") + "]").utf8)),
    ]
}

// MARK: - Speed

/// The best of three timed runs of `parse` over `bytes`, each at least 0.3 s long.
func measure(_ parser: Parser, _ bytes: [UInt8]) -> (nsPerOp: Double, mbPerSecond: Double) {
    let clock = ContinuousClock()
    var iterations = 1
    while true {
        let elapsed = clock.measure { for _ in 0..<iterations { precondition(parser.parse(bytes)) } }
        if elapsed > .milliseconds(100) { break }
        iterations *= 2
    }
    iterations *= 3
    var best = Duration.seconds(1_000_000)
    for _ in 0..<3 {
        best = min(best, clock.measure { for _ in 0..<iterations { _ = parser.parse(bytes) } })
    }
    let seconds = Double(best.components.seconds) + Double(best.components.attoseconds) / 1e18
    let perOp = seconds / Double(iterations)
    return (perOp * 1e9, Double(bytes.count) / perOp / 1e6)
}

// MARK: - Correctness

/// RFC 8259 texts and whether each is valid JSON.
let cases: [(String, Bool)] = [
    ("{}", true), ("[]", true), ("0", true), ("-0", true), ("\"\"", true), ("null", true), ("true", true),
    ("[1,2.5,-3e2,4E+1,5e-1]", true), (#"{"a":{"b":[{"c":null}]}}"#, true), (" \t\r\n[1] \n", true),
    (#"["\u00e9\ud83d\ude00\/\b\f\n\r\t\"\\"]"#, true), (#"{"dup":1,"dup":2}"#, true), ("[\"a\\u0000b\"]", true),
    ("[9223372036854775807]", true), ("[-9223372036854775808]", true), ("[18446744073709551616]", true),
    ("[123456789012345678901234567890]", true), ("[0.10000000000000000001]", true), ("[1e308]", true),
    ("[1.5e-400]", true), ("[\"é\"]", true),
    ("", false), ("[", false), ("[1,]", false), ("{\"a\":1,}", false), ("[01]", false), ("[1.]", false),
    ("[.5]", false), ("[+1]", false), ("[1e]", false), ("[0x10]", false), ("[NaN]", false), ("[Infinity]", false),
    ("{'a':1}", false), ("{a:1}", false), ("[\"a\nb\"]", false), (#"["\x"]"#, false), (#"["\u12"]"#, false),
    ("[1] [2]", false), ("[tru]", false), ("[True]", false), ("/* c */ []", false), ("[1,,2]", false),
    ("{\"a\" 1}", false), ("[\"unterminated]", false),
]

/// Texts whose numbers must come back exactly: each parser's value rendered again must carry the literal.
let exactNumbers = ["9223372036854775807", "18446744073709551616", "0.10000000000000000001", "-9007199254740993"]

func renders(_ parser: String, _ literal: String) -> Bool {
    let bytes = Array("[\(literal)]".utf8)
    switch parser {
    case "ours (JSONValue)":
        return (try? JSONValue(parsing: bytes).jsonText) == "[\(literal)]"
    case "Foundation JSONSerialization":
        guard let value = try? JSONSerialization.jsonObject(with: Data(bytes)),
            let data = try? JSONSerialization.data(withJSONObject: value)
        else { return false }
        return String(decoding: data, as: UTF8.self) == "[\(literal)]"
    default:
        var error = json_error_t()
        guard let value = json_loadb(literal, literal.utf8.count, Int(JSON_DECODE_ANY), &error) else { return false }
        defer { cjansson_decref(value) }
        guard let text = json_dumps(value, Int(JSON_ENCODE_ANY)) else { return false }
        defer { free(text) }
        return String(cString: text) == literal
    }
}

print("JSON parser benchmark (release; best of 3 timed runs of at least 0.1 s each)\n")
print("| input | bytes | parser | ns/op | MB/s |")
print("|---|---:|---|---:|---:|")
for input in inputs() {
    for parser in parsers {
        let result = measure(parser, input.bytes)
        print(
            "| \(input.name) | \(input.bytes.count) | \(parser.name) | \(String(format: "%.0f", result.nsPerOp)) | "
                + "\(String(format: "%.1f", result.mbPerSecond)) |")
    }
}

print("\nCorrectness: \(cases.count) RFC 8259 texts (\(cases.filter(\.1).count) valid), \(exactNumbers.count) exact numbers\n")
print("| parser | accepts/rejects as RFC 8259 | numbers kept exactly | disagreements |")
print("|---|---:|---:|---|")
for parser in parsers {
    let wrong = cases.filter { parser.parse(Array($0.0.utf8)) != $0.1 }
    let exact = exactNumbers.filter { renders(parser.name, $0) }
    let list = wrong.map { "`\($0.0.replacingOccurrences(of: "\n", with: "\\n"))` (\($0.1 ? "valid" : "invalid"))" }
    print(
        "| \(parser.name) | \(cases.count - wrong.count)/\(cases.count) | \(exact.count)/\(exactNumbers.count) | "
            + "\(list.isEmpty ? "none" : list.joined(separator: ", ")) |")
}
