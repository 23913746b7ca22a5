import Shared

/// A PostgreSQL or PostgREST error raised by the embedded tables and RPCs, with the fields PostgREST reports.
///
/// The HTTP layer maps `code` to PostgREST's status (`23505` → 409, `PGRST205` → 404, …). Every one is
/// final for a retry loop: the stand-in raises them from the data (a taken key, a lost lease, a recent
/// skip, an unknown table), never from a transient failure, so another attempt gets the same answer.
public struct SQLError: ClassifiedError, Sendable, Hashable, CustomStringConvertible {
    /// The SQLSTATE (`23505`, `MM001`) or PostgREST code (`PGRST204`).
    public var code: String
    /// The message.
    public var message: String
    /// Details, when PostgreSQL gives them.
    public var details: String?
    /// A hint, when PostgREST gives one.
    public var hint: String?

    /// Creates an error.
    public init(code: String, message: String, details: String? = nil, hint: String? = nil) {
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
    }

    public var description: String { "\(code): \(message)" }

    /// Final, under the SQLSTATE or PostgREST code.
    public var failureClass: FailureClass { .fatal(pattern: code) }

    /// `PGRST205`: no such table in the exposed schema.
    static func unknownTable(_ table: String) -> SQLError {
        SQLError(code: "PGRST205", message: "Could not find the table 'public.\(table)' in the schema cache")
    }

    /// `PGRST204`: a request body names a column the table does not have.
    static func unknownBodyColumn(_ column: String, table: String) -> SQLError {
        SQLError(code: "PGRST204", message: "Could not find the '\(column)' column of '\(table)' in the schema cache")
    }

    /// `42703`: a filter, order or select names a column the table does not have.
    static func unknownColumn(_ column: String, table: String) -> SQLError {
        SQLError(code: "42703", message: "column \(table).\(column) does not exist")
    }

    /// `22P05`: a text or jsonb value holds U+0000, which PostgreSQL cannot store (PostgREST's JSON body
    /// reaches a column through a `json` to text conversion, hence the JSON wording).
    static let nulCharacter = SQLError(
        code: "22P05", message: "unsupported Unicode escape sequence", details: "\\u0000 cannot be converted to text.")

    /// `23505`: a primary key or unique constraint already holds the value.
    static func duplicate(constraint: String, columns: [String], values: [String]) -> SQLError {
        SQLError(
            code: "23505", message: "duplicate key value violates unique constraint \"\(constraint)\"",
            details: "Key (\(columns.joined(separator: ", ")))=(\(values.joined(separator: ", "))) already exists."
        )
    }
}
