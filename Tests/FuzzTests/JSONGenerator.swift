import Foundation
import Shared

/// Random JSON values, and random spellings of them as text (whitespace, `\u` escapes, surrogate pairs).
enum JSONGenerator {
    static let characters: [String] = [
        "a", "b", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "\u{7F}", "é", "中", "😀", "\u{2028}",
        "\u{FEFF}", "{", "}", "[", "]", ",", ":",
    ]

    static func string(_ random: inout SplitMix64) -> String {
        String((0..<random.below(12)).map { _ in random.pick(characters) }.joined())
    }

    static func number(_ random: inout SplitMix64) -> JSONNumber {
        let literal: String
        switch random.below(7) {
        case 0: literal = String(Int64(bitPattern: random.next()))
        case 1: literal = random.pick(["0", "-0", "9223372036854775807", "-9223372036854775808", "18446744073709551616", "1e308"])
        case 2: literal = String(random.below(1000) - 500)
        case 3: literal = "\(random.below(100)).\(random.below(100_000))"
        case 4: literal = "\(random.oneIn(2) ? "-" : "")\(random.below(10))e\(random.pick(["", "+", "-"]))\(random.below(300))"
        case 5: literal = String((0..<(1 + random.below(30))).map { _ in Character(String(random.below(9) + 1)) })
        default: literal = JSONNumber(Double(bitPattern: random.next() & 0x7FEF_FFFF_FFFF_FFFF))?.literal ?? "1"
        }
        return JSONNumber(literal: literal) ?? 0
    }

    static func value(_ random: inout SplitMix64, depth: Int = 0) -> JSONValue {
        switch random.below(depth > 5 ? 4 : 6) {
        case 0: return random.oneIn(3) ? .null : .bool(random.oneIn(2))
        case 1, 2: return .number(number(&random))
        case 3: return .string(string(&random))
        case 4: return .array((0..<random.below(5)).map { _ in value(&random, depth: depth + 1) })
        default:
            var fields: [String: JSONValue] = [:]
            for _ in 0..<random.below(5) { fields[string(&random)] = value(&random, depth: depth + 1) }
            return .object(fields)
        }
    }

    /// `value` as JSON text in one of many spellings, all meaning the same value.
    static func text(_ value: JSONValue, _ random: inout SplitMix64) -> String {
        func space() -> String { random.oneIn(3) ? random.pick([" ", "\n", "\t", "\r\n ", "  "]) : "" }
        switch value {
        case .array(let elements):
            return "[" + space() + elements.map { text($0, &random) + space() }.joined(separator: "," + space()) + "]"
        case .object(let fields):
            let members = fields.shuffled(using: &random).map { key, field in
                quoted(key, &random) + space() + ":" + space() + text(field, &random)
            }
            return "{" + space() + members.joined(separator: space() + "," + space()) + space() + "}"
        case .string(let string):
            return quoted(string, &random)
        default:
            return value.jsonText
        }
    }

    /// A string literal, each character plain or escaped at random.
    static func quoted(_ string: String, _ random: inout SplitMix64) -> String {
        var output = "\""
        for scalar in string.unicodeScalars {
            let mustEscape = scalar == "\"" || scalar == "\\" || scalar.value < 0x20
            if mustEscape || random.oneIn(4) {
                if scalar.value > 0xFFFF {
                    let offset = scalar.value - 0x10000
                    output += String(format: "\\u%04X\\u%04x", 0xD800 + (offset >> 10), 0xDC00 + (offset & 0x3FF))
                } else if scalar == "\"" || scalar == "\\" || (scalar == "/" && random.oneIn(2)) {
                    output += "\\" + String(scalar)
                } else {
                    output += String(format: random.oneIn(2) ? "\\u%04x" : "\\u%04X", scalar.value)
                }
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        return output + "\""
    }

    /// Tokens the mutator drops into texts.
    static let tokens: [[UInt8]] =
        [
            "true", "false", "null", "\\u", "\\ud83d", "\\ude00", "\\ud83d\\ude00", "1e999", "-", "0.", "1e", "\"", "{\"a\":",
            "[[[[[[[[", "]]]]]]]]", "\u{FEFF}", "\\", "9223372036854775808", "\u{0}", "\u{FFFF}",
        ].map { Array($0.utf8) } + [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80]]
}
