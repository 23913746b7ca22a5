import Foundation

/// The JSON encoder and decoder every component uses, so that bytes on the wire are stable.
public enum JSONCoding {
    /// Sorted keys and unescaped slashes: output is deterministic and reads like PostgREST's.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Pretty output for fixtures and reports that people read.
    public static var prettyEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return encoder
    }

    /// A plain decoder; dates travel as strings in PostgreSQL's format (see `Timestamp`).
    public static var decoder: JSONDecoder { JSONDecoder() }

    /// Encodes `value` to a UTF-8 string.
    public static func string(_ value: some Encodable, pretty: Bool = false) throws -> String {
        let data = try (pretty ? prettyEncoder : encoder).encode(value)
        return String(decoding: data, as: UTF8.self)
    }
}
