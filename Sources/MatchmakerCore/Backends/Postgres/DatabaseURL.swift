import Foundation
import NIOSSL
import PostgresNIO

/// `DATABASE_URL` (`postgres://user:password@host:port/database?sslmode=…`), parsed.
public struct DatabaseURL: Sendable, Hashable {
    /// Server host.
    public var host: String
    /// Server port (5432 when absent).
    public var port: Int
    /// User name.
    public var username: String
    /// Password, percent-decoded; never logged.
    public var password: String?
    /// Database name, or the server's default.
    public var database: String?
    /// TLS is required: any `sslmode` but `disable`, and remote hosts without `sslmode`.
    public var requiresTLS: Bool

    /// Parses the URL.
    /// - Throws: `DatabaseURLError` when it is not a PostgreSQL URL.
    public init(_ text: String) throws {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            ["postgres", "postgresql"].contains(scheme), let host = components.host, !host.isEmpty,
            let user = components.user, !user.isEmpty
        else {
            throw DatabaseURLError(reason: "expected postgres://user:password@host:port/database")
        }
        let database = String(components.path.drop { $0 == "/" })
        let sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value
        let loopback = ["127.0.0.1", "localhost", "::1"].contains(host)
        self.host = host
        port = components.port ?? 5432
        username = user.removingPercentEncoding ?? user
        password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.isEmpty ? nil : database
        requiresTLS = sslMode.map { $0 != "disable" } ?? !loopback
    }

    /// The postgres-nio client configuration for this URL.
    public var configuration: PostgresClient.Configuration {
        PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requiresTLS ? .require(.makeClientConfiguration()) : .disable
        )
    }
}

/// A `DATABASE_URL` that does not parse; never contains the URL itself, which holds a password.
public struct DatabaseURLError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var reason: String

    public var description: String { "invalid DATABASE_URL: \(reason)" }
}
