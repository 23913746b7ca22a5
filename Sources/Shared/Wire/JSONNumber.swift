/// A JSON number kept as the literal that arrived, so that a bigint such as `9223372036854775807` or a
/// 20-digit decimal survives parsing and rendering unchanged (a `Double` holds only 53 bits).
///
/// Two numbers are equal when they denote the same decimal value (`1`, `1.0` and `10e-1` are equal, as
/// in PostgreSQL's `jsonb`); the literal is what is rendered.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number's text, valid RFC 8259 number grammar.
    public let literal: String

    /// Wraps a literal the parser has already checked.
    init(unchecked literal: String) { self.literal = literal }

    /// A number from its JSON text; `nil` when `literal` is not an RFC 8259 number.
    public init?(literal: String) {
        guard Self.isValid(literal.utf8) else { return nil }
        self.literal = literal
    }

    /// An integer, exactly.
    public init(_ value: some BinaryInteger) { literal = String(value) }

    /// A finite double in its shortest round-tripping form; `nil` for infinities and NaN, which JSON cannot carry.
    public init?(_ value: Double) {
        guard value.isFinite else { return nil }
        literal = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(describing: value)
    }

    public var description: String { literal }

    /// The nearest `Double` (a bigint rounds to 53 bits; use `int64Value` to keep it).
    public var doubleValue: Double { Double(literal) ?? .nan }

    /// The value as an `Int64` when it is a whole number in range, exactly: `9223372036854775807` is
    /// itself, `2.0` and `1e3` are 2 and 1000, `1.5` and `9223372036854775808` are `nil`.
    public var int64Value: Int64? {
        if let exact = Int64(literal) { return exact }
        let decimal = canonical
        if decimal.digits.isEmpty { return 0 }
        guard decimal.exponent >= decimal.digits.count, decimal.exponent <= 19 else { return nil }
        let text = (decimal.negative ? "-" : "") + decimal.digits + String(repeating: "0", count: decimal.exponent - decimal.digits.count)
        return Int64(text)
    }

    /// Whether the value is a whole number, whatever its size or spelling (`2`, `2.0`, `1e30`).
    public var isWholeNumber: Bool {
        let decimal = canonical
        return decimal.exponent >= decimal.digits.count
    }

    /// Whether the literal is written as an integer (no fraction, no exponent).
    public var isIntegerLiteral: Bool {
        !literal.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
    }

    public static func == (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        lhs.literal == rhs.literal || lhs.canonical == rhs.canonical
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(canonical) }

    /// The value as sign, significant digits without leading or trailing zeros, and the decimal exponent
    /// of the point before the first digit: `-12.5e1` is (true, "125", 3), zero is (false, "", 0).
    struct Canonical: Hashable {
        var negative: Bool
        var digits: String
        var exponent: Int
    }

    var canonical: Canonical {
        let bytes = Array(literal.utf8)
        var index = 0
        let negative = bytes.first == UInt8(ascii: "-")
        if negative { index += 1 }
        var digits: [UInt8] = []
        var pointPosition: Int?
        while index < bytes.count, bytes[index] != UInt8(ascii: "e"), bytes[index] != UInt8(ascii: "E") {
            if bytes[index] == UInt8(ascii: ".") {
                pointPosition = digits.count
            } else {
                digits.append(bytes[index])
            }
            index += 1
        }
        var exponent = 0
        if index < bytes.count {
            index += 1
            var exponentNegative = false
            if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
                exponentNegative = bytes[index] == UInt8(ascii: "-")
                index += 1
            }
            while index < bytes.count {
                // Saturate: an exponent this large is out of every range anyway.
                exponent = min(exponent * 10 + Int(bytes[index] - UInt8(ascii: "0")), 1 << 40)
                index += 1
            }
            if exponentNegative { exponent = -exponent }
        }
        exponent += pointPosition ?? digits.count
        let leading = digits.prefix { $0 == UInt8(ascii: "0") }.count
        digits.removeFirst(leading)
        exponent -= leading
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        if digits.isEmpty { return Canonical(negative: false, digits: "", exponent: 0) }
        return Canonical(negative: negative, digits: String(decoding: digits, as: UTF8.self), exponent: exponent)
    }

    /// Whether `bytes` is exactly one RFC 8259 number.
    static func isValid(_ bytes: some Collection<UInt8>) -> Bool {
        var iterator = Array(bytes)[...]
        func digits() -> Int {
            let count = iterator.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
            iterator.removeFirst(count)
            return count
        }
        if iterator.first == UInt8(ascii: "-") { iterator.removeFirst() }
        if iterator.first == UInt8(ascii: "0") {
            iterator.removeFirst()
        } else if digits() == 0 {
            return false
        }
        if iterator.first == UInt8(ascii: ".") {
            iterator.removeFirst()
            guard digits() > 0 else { return false }
        }
        if iterator.first == UInt8(ascii: "e") || iterator.first == UInt8(ascii: "E") {
            iterator.removeFirst()
            if iterator.first == UInt8(ascii: "+") || iterator.first == UInt8(ascii: "-") { iterator.removeFirst() }
            guard digits() > 0 else { return false }
        }
        return iterator.isEmpty
    }
}

extension JSONNumber: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self.init(value) }
}

extension JSONNumber: Comparable {
    /// Orders by value; exact for integers in `Int64`, by `Double` otherwise.
    public static func < (lhs: JSONNumber, rhs: JSONNumber) -> Bool {
        if let a = lhs.int64Value, let b = rhs.int64Value { return a < b }
        return lhs.doubleValue < rhs.doubleValue
    }
}
