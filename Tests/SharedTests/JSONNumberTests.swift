import Foundation
import Shared
import Testing

/// Issue 16: JSON numbers were held as `Double`, so a bigint lost its low bits on the way through.
@Suite struct JSONNumberTests {
    static let exact = [
        "9223372036854775807", "-9223372036854775808", "18446744073709551615", "123456789012345678901234567890",
        "0.10000000000000000001", "1.0", "-0", "1e300", "2.5E-3", "4",
    ]

    /// The parser keeps the literal; the renderer writes it back unchanged.
    @Test(arguments: exact)
    func parseAndRenderKeepTheLiteral(literal: String) throws {
        let value = try JSONValue(parsing: "[\(literal)]")
        #expect(value == .array([.number(try #require(JSONNumber(literal: literal)))]))
        #expect(value.jsonText == "[\(literal)]")
    }

    /// `JSONEncoder` writes the same value (its own spelling where it has no literal: `1e300` as `1e+300`).
    @Test(arguments: exact)
    func theEncoderWritesTheSameValue(literal: String) throws {
        let value = try JSONValue(parsing: "[\(literal)]")
        let encoded = try JSONCoding.string(value)
        #expect(try JSONValue(parsing: encoded) == value, "\(encoded)")
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(encoded.utf8)) == value || literal.count > 20)
    }

    @Test func aBigintIsExactThroughEveryPath() throws {
        let text = #"{"msg_id":9223372036854775807,"n":-9007199254740993}"#
        let value = try JSONValue(parsing: text)
        #expect(value["msg_id"]?.integerValue == Int64.max)
        #expect(value["n"]?.integerValue == -9_007_199_254_740_993)
        #expect(value.jsonText == text)
        #expect(try JSONCoding.string(value) == text)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) == value)
        struct Row: Codable { var msg_id: Int64 }
        #expect(try value.decode(as: Row.self).msg_id == Int64.max)
        #expect(try JSONValue(encoding: Row(msg_id: Int64.max))["msg_id"] == value["msg_id"])
    }

    @Test func equalityIsByValueAndIntegersAreExact() throws {
        let one = try #require(JSONNumber(literal: "1"))
        #expect(one == JSONNumber(literal: "1.0"))
        #expect(one == JSONNumber(literal: "10e-1"))
        #expect(one.hashValue == (try #require(JSONNumber(literal: "1.00"))).hashValue)
        #expect(JSONNumber(literal: "-0") == JSONNumber(literal: "0"))
        #expect(JSONNumber(literal: "9223372036854775807") != JSONNumber(literal: "9223372036854775806"))
        #expect(JSONNumber(literal: "1e3")?.int64Value == 1000)
        #expect(JSONNumber(literal: "1.5")?.int64Value == nil)
        #expect(JSONNumber(literal: "9223372036854775808")?.int64Value == nil)
        #expect(JSONNumber(literal: "01") == nil)
        #expect(JSONNumber(literal: "1.") == nil)
        #expect(JSONNumber(Double.infinity) == nil)
        #expect(JSONNumber(0.1)?.literal == "0.1")
        #expect(JSONNumber(3.0)?.literal == "3")
    }
}
