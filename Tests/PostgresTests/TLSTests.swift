import Foundation
import MatchmakerCore
import NIOSSL
import PostgresNIO
import Testing

/// TLS to PostgreSQL: `scripts/with-postgres.sh` runs the server with a throwaway self-signed certificate
/// for `localhost` and 127.0.0.1 (`POSTGRES_TLS_ROOT_CERT`) and hands over another root that did not
/// sign it (`POSTGRES_TLS_OTHER_ROOT_CERT`).
extension PostgresSuite {
    /// `DATABASE_URL` with `host` and the query `query`.
    static func tlsURL(host: String = "127.0.0.1", _ query: String) throws -> String {
        var components = try #require(URLComponents(string: try TestDatabase.requireURL()))
        components.host = host
        components.percentEncodedQuery = query
        return try #require(components.string)
    }

    static func certificate(_ name: String) throws -> String {
        try #require(ProcessInfo.processInfo.environment[name], "\(name) is not set: run through scripts/with-postgres.sh")
    }

    /// Whether the session of a client built from `url` as the backends build it runs over TLS.
    static func sessionUsesTLS(_ url: String) async throws -> Bool {
        let client = PostgresClient(configuration: try DatabaseURL(url).configuration, backgroundLogger: TestDatabase.logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let rows = try await client.query("select ssl from pg_stat_ssl where pid = pg_backend_pid()", logger: TestDatabase.logger)
            var values: [Bool] = []
            for try await value in rows.decode(Bool.self) { values.append(value) }
            return values == [true]
        }
    }

    /// Opens one connection with `url`'s TLS configuration (a pool would retry a refused handshake).
    static func connect(_ url: String) async throws {
        let parsed = try DatabaseURL(url)
        let tls: PostgresConnection.Configuration.TLS =
            try parsed.tlsConfiguration.map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable
        let configuration = PostgresConnection.Configuration(
            host: parsed.host, port: parsed.port, username: parsed.username, password: parsed.password, database: parsed.database,
            tls: tls)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: TestDatabase.logger)
        try await connection.close()
    }

    @Test func sslmodeRequireEncryptsWithoutCheckingTheCertificate() async throws {
        #expect(try await Self.sessionUsesTLS(try Self.tlsURL("sslmode=require")))
        #expect(try await !Self.sessionUsesTLS(try Self.tlsURL("sslmode=disable")))
        #expect(try await !Self.sessionUsesTLS(try TestDatabase.requireURL()), "loopback without sslmode: no TLS")
    }

    @Test func sslmodeVerifyFullTrustsTheGivenRoot() async throws {
        let root = try Self.certificate("POSTGRES_TLS_ROOT_CERT")
        #expect(try await Self.sessionUsesTLS(try Self.tlsURL(host: "localhost", "sslmode=verify-full&sslrootcert=\(root)")))
        #expect(try await Self.sessionUsesTLS(try Self.tlsURL("sslmode=verify-ca&sslrootcert=\(root)")))
        try await Self.connect(try Self.tlsURL(host: "localhost", "sslmode=verify-full&sslrootcert=\(root)"))
    }

    @Test func aRootThatDidNotSignTheCertificateIsRefused() async throws {
        let other = try Self.certificate("POSTGRES_TLS_OTHER_ROOT_CERT")
        for query in [
            "sslmode=verify-full&sslrootcert=\(other)", "sslmode=verify-ca&sslrootcert=\(other)", "sslmode=require&sslrootcert=\(other)",
        ] {
            let error = await #expect(throws: (any Error).self) { try await Self.connect(try Self.tlsURL(host: "localhost", query)) }
            #expect(String(reflecting: error).contains("handshakeFailed"), "\(query): \(String(reflecting: error))")
        }
        // Without sslrootcert, verify-full trusts the system's roots, which did not sign a throwaway certificate.
        await #expect(throws: (any Error).self) { try await Self.connect(try Self.tlsURL(host: "localhost", "sslmode=verify-full")) }
    }
}
