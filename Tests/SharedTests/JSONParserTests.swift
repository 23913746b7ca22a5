import Foundation
import Shared
import Testing

@Suite struct JSONParserTests {
    /// Valid texts parse to exactly what Foundation's decoder makes of them.
    @Test(arguments: [
        #"{"userId":"alice","continent":"Europe"}"#,
        #"  [1, -2, 3.25, -0.5e3, 1E-2, 0, -0, 12345678901234, 1e300]  "#,
        #"{"a":{"b":[true,false,null,{"c":[]}],"d":{}},"e":""}"#,
        #"["\"\\\/\b\f\n\r\t", "\u00e9\u4e2d", "\ud83d\ude00", "emoji 😀 direct", "a\u0000b"]"#,
        #"[1,"phx_join","realtime:global:lobby",{"config":{"presence":{"key":"u1","enabled":true}}}]"#,
        "true", "null", "\"just a string\"", "-7",
    ])
    func matchesFoundation(text: String) throws {
        let expected = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(try JSONValue(parsing: text) == expected)
    }

    @Test(arguments: [
        ("", "unexpected end of input"), ("{", "expected a string key"), (#"{"a" 1}"#, "expected ':'"),
        ("[1,]", "unexpected character ']'"), (#"{"a":1,}"#, "expected a string key"), ("01", "leading zero"),
        ("1.", "expected a digit after '.'"), ("1e", "expected a digit in the exponent"), ("-", "expected a digit"),
        (#""abc"#, "unterminated string"), ("\"a\nb\"", "control character"), (#""\x""#, "invalid escape"),
        (#""\u12""#, #"short \u escape"#), (#""\u12zz""#, #"invalid \u escape"#), (#""\ud83d""#, "unpaired surrogate"),
        (#""\ude00""#, "unpaired surrogate"),
        ("tru", "invalid literal"), ("nul", "invalid literal"), ("[1] 2", "unexpected data after the value"),
        ("1e999", "number out of range"), ("{'a':1}", "expected a string key"), ("NaN", "unexpected character 'N'"),
    ])
    func rejectsWithAReason(text: String, reason: String) {
        let error = #expect(throws: JSONParseError.self) { try JSONValue(parsing: text) }
        #expect(error?.reason.contains(reason) == true, "\(text): \(String(describing: error))")
    }

    /// As PostgreSQL's `jsonb` (and `JSONSerialization`): the last of duplicate keys wins.
    @Test func theLastDuplicateKeyWins() throws {
        #expect(try JSONValue(parsing: #"{"dup":1,"a":true,"dup":2}"#) == ["dup": 2, "a": true])
    }

    @Test func deepNestingIsAnErrorNotACrash() throws {
        let fine = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        #expect(throws: Never.self) { try JSONValue(parsing: fine) }
        let deep = String(repeating: "[", count: 100_000)
        let error = #expect(throws: JSONParseError.self) { try JSONValue(parsing: deep) }
        #expect(error?.reason == "nested deeper than 512")
    }

    @Test func theOffsetPointsAtTheProblem() {
        let error = #expect(throws: JSONParseError.self) { try JSONValue(parsing: #"{"a":[1,2,x]}"#) }
        #expect(error?.offset == 10)
        #expect(error?.description == "invalid JSON at byte 10: unexpected character 'x'")
    }

    @Test func invalidUTF8IsRepairedLikeFoundationWouldNotCrash() throws {
        let bytes: [UInt8] = [0x22, 0x61, 0xFF, 0x62, 0x22]  // "a\xFFb"
        #expect(try JSONValue(parsing: bytes) == .string("a\u{FFFD}b"))
    }
}
