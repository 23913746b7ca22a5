extension JSONValue {
    /// This value as compact JSON text: keys sorted, slashes unescaped, numbers as their literals.
    ///
    /// The bytes are those `JSONCoding.encoder` writes for the same value, except that a number keeps its
    /// literal (`1.0`, a 25-digit decimal) where `JSONEncoder` would rewrite it.
    public var jsonText: String { String(decoding: jsonBytes, as: UTF8.self) }

    /// This value as compact JSON in UTF-8; see `jsonText`.
    public var jsonBytes: [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(64)
        render(into: &output)
        return output
    }

    /// Appends this value's JSON text to `output`.
    public func render(into output: inout [UInt8]) {
        switch self {
        case .null: output.append(contentsOf: "null".utf8)
        case .bool(let flag): output.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let number): output.append(contentsOf: number.literal.utf8)
        case .string(let text): Self.render(string: text, into: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                element.render(into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let fields):
            output.append(UInt8(ascii: "{"))
            for (position, key) in fields.keys.sorted(by: Self.keyOrder).enumerated() {
                if position > 0 { output.append(UInt8(ascii: ",")) }
                Self.render(string: key, into: &output)
                output.append(UInt8(ascii: ":"))
                fields[key]?.render(into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// `JSONEncoder`'s `.sortedKeys` order: by UTF-8 bytes.
    private static func keyOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    private static func render(string: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): output.append(contentsOf: #"\\"#.utf8)
            case 0x08: output.append(contentsOf: #"\b"#.utf8)
            case 0x0C: output.append(contentsOf: #"\f"#.utf8)
            case 0x0A: output.append(contentsOf: #"\n"#.utf8)
            case 0x0D: output.append(contentsOf: #"\r"#.utf8)
            case 0x09: output.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                output.append(contentsOf: #"\u00"#.utf8)
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}
