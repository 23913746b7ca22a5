import Foundation
import NIOSSL
import PostgresNIO

/// `DATABASE_URL` (`postgres://user:password@host:port/database?sslmode=…`) as a postgres-nio configuration.
public enum DatabaseURL {
    /// Parses the URL; `sslmode=disable` (or a loopback host without `sslmode`) turns TLS off, any other value requires it.
    /// - Throws: `DatabaseURLError` when the URL is not a PostgreSQL URL.
    public static func configuration(_ text: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: text), let scheme = components.scheme,
            ["postgres", "postgresql"].contains(scheme), let host = components.host, !host.isEmpty,
            let user = components.user, !user.isEmpty
        else {
            throw DatabaseURLError(reason: "expected postgres://user:password@host:port/database")
        }
        let database = String(components.path.drop { $0 == "/" })
        let sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value
        let loopback = ["127.0.0.1", "localhost", "::1"].contains(host)
        let tls: PostgresClient.Configuration.TLS
        switch sslMode {
        case "disable": tls = .disable
        case nil where loopback: tls = .disable
        default: tls = .require(.makeClientConfiguration())
        }
        return PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user.removingPercentEncoding ?? user,
            password: components.password?.removingPercentEncoding, database: database.isEmpty ? nil : database, tls: tls
        )
    }
}

/// A `DATABASE_URL` that does not parse; never contains the URL itself, which holds a password.
public struct DatabaseURLError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var reason: String

    public var description: String { "invalid DATABASE_URL: \(reason)" }
}
