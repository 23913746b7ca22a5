import Logging
import PostgresNIO
import Shared

/// A failed SQL call, classified for the pass's retry loops; carries the SQLSTATE, never the query's values.
public struct PostgresBackendError: ClassifiedError, Sendable, CustomStringConvertible {
    /// The SQLSTATE, when the server answered.
    public var sqlState: String?
    /// The server's message, or the client's error kind.
    public var message: String

    /// SQLSTATEs that another attempt cannot fix: the match's own checks (`MM…`), duplicate or
    /// missing keys, and permission errors. Everything else (connection loss, serialization
    /// failures, deadlocks, timeouts) is retried.
    static let finalStates: Set<String> = ["MM001", "MM002", "MM003", "MM004", "23505", "23503", "42501", "42P01", "42883"]

    /// Wraps an error thrown by postgres-nio.
    init(_ error: any Error) {
        if let psql = error as? PSQLError {
            sqlState = psql.serverInfo?[.sqlState]
            message = psql.serverInfo?[.message] ?? "\(psql.code)"
        } else {
            sqlState = nil
            message = "\(error)"
        }
    }

    /// True when the match lost its lease to another matcher (SQLSTATE MM001).
    public var isLeaseLost: Bool { sqlState == "MM001" }

    public var failureClass: FailureClass {
        if let sqlState, Self.finalStates.contains(sqlState) { return .fatal(pattern: "SQLSTATE \(sqlState)") }
        return .retryable
    }

    public var description: String { "\(sqlState.map { "SQLSTATE \($0): " } ?? "")\(message)" }
}

/// Runs one database call and turns its failure into a `PostgresBackendError`.
func database<T: Sendable>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch is CancellationError {
        throw CancellationError()
    } catch let error as PostgresBackendError {
        throw error
    } catch {
        throw PostgresBackendError(error)
    }
}

extension PostgresClient {
    /// Runs a statement and reads its result to the end: a server error (a raised exception, a
    /// violated constraint) arrives with the rows, so a result left unread would hide it.
    func command(_ query: PostgresQuery, logger: Logger) async throws {
        _ = try await self.query(query, logger: logger).collect()
    }
}
