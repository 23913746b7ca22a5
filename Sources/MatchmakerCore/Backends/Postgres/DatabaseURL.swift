import Foundation
import NIOSSL
import PostgresNIO

/// `DATABASE_URL` (`postgres://user:password@host:port/database?sslmode=…&sslrootcert=…`), parsed.
///
/// `sslmode` as libpq reads it: `disable` (no TLS); `allow`, `prefer` and `require` (TLS, the certificate
/// not checked, unless `sslrootcert` names a file: then as `verify-ca`); `verify-ca` (the chain checked
/// against the roots); `verify-full` (the chain and the host name). `sslrootcert` is a PEM file of
/// trusted roots, in place of the system's (`system`, or no `sslrootcert`: the system's). Without
/// `sslmode`, a loopback host connects without TLS and any other host as with `verify-full`.
public struct DatabaseURL: Sendable, Hashable {
    /// What TLS a connection uses and what it checks.
    public enum TLSMode: String, Sendable, Hashable {
        /// No TLS.
        case disable
        /// TLS without checking the certificate.
        case require
        /// TLS, the certificate chain checked against the trusted roots.
        case verifyCA = "verify-ca"
        /// TLS, the chain and the host name checked.
        case verifyFull = "verify-full"
    }

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
    /// The TLS the connection uses.
    public var tlsMode: TLSMode
    /// `sslrootcert`: a PEM file of the roots to trust instead of the system's.
    public var rootCertificatePath: String?

    /// TLS is required: any `sslmode` but `disable`, and remote hosts without `sslmode`.
    public var requiresTLS: Bool { tlsMode != .disable }

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
        let rootCert = components.queryItems?.first { $0.name == "sslrootcert" }?.value.flatMap { $0 == "system" ? nil : $0 }
        let loopback = ["127.0.0.1", "localhost", "::1"].contains(host)
        self.host = host
        port = components.port ?? 5432
        username = user.removingPercentEncoding ?? user
        password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.isEmpty ? nil : database
        rootCertificatePath = rootCert
        switch sslMode {
        case nil: tlsMode = loopback ? .disable : .verifyFull
        case "disable": tlsMode = .disable
        case "allow", "prefer", "require": tlsMode = rootCert == nil ? .require : .verifyCA
        case "verify-ca": tlsMode = .verifyCA
        case "verify-full": tlsMode = .verifyFull
        case let other?: throw DatabaseURLError(reason: "unknown sslmode \(other)")
        }
    }

    /// The TLS configuration of a connection: what `sslmode` checks, trusting `sslrootcert`'s roots when
    /// given; `nil` without TLS.
    public var tlsConfiguration: TLSConfiguration? {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch tlsMode {
        case .disable: return nil
        case .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        if let rootCertificatePath { tls.trustRoots = .file(rootCertificatePath) }
        return tls
    }

    /// The postgres-nio client configuration for this URL.
    public var configuration: PostgresClient.Configuration {
        PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: tlsConfiguration.map { .require($0) } ?? .disable
        )
    }
}

/// A `DATABASE_URL` that does not parse; never contains the URL itself, which holds a password.
public struct DatabaseURLError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var reason: String

    public var description: String { "invalid DATABASE_URL: \(reason)" }
}
