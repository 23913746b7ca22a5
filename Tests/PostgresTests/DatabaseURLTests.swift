import MatchmakerCore
import NIOSSL
import Testing

/// `DATABASE_URL` parsing needs no server.
@Suite struct DatabaseURLTests {
    @Test func aLoopbackURLConnectsWithoutTLS() throws {
        let url = try DatabaseURL("postgres://matchmaker:s%40cret@127.0.0.1:54321/matchmaker")
        #expect(url.host == "127.0.0.1")
        #expect(url.port == 54321)
        #expect(url.username == "matchmaker")
        #expect(url.password == "s@cret")
        #expect(url.database == "matchmaker")
        #expect(!url.requiresTLS)
    }

    @Test func aRemoteURLRequiresTLSUnlessDisabled() throws {
        let remote = try DatabaseURL("postgresql://postgres:pw@db.example.supabase.co/postgres")
        #expect(remote.port == 5432)
        #expect(remote.requiresTLS)
        #expect(try !DatabaseURL("postgres://postgres:pw@db.internal:6543/postgres?sslmode=disable").requiresTLS)
        #expect(try DatabaseURL("postgres://postgres:pw@localhost/postgres?sslmode=require").requiresTLS)
    }

    @Test(arguments: ["", "mysql://u:p@h/d", "postgres://h/d", "not a url"])
    func malformedURLsAreRefused(_ text: String) throws {
        let error = try #require(throws: DatabaseURLError.self) { try DatabaseURL(text) }
        #expect(!error.description.contains(text) || text.isEmpty)
    }
}

@Suite struct DatabaseURLTLSTests {
    @Test func sslmodeAndSslrootcertAreReadAsLibpqReadsThem() throws {
        let base = "postgres://u:p@db.example.com/postgres"
        #expect(try DatabaseURL(base).tlsMode == .verifyFull)
        #expect(try DatabaseURL(base + "?sslmode=require").tlsMode == .require)
        #expect(try DatabaseURL(base + "?sslmode=prefer").tlsMode == .require)
        #expect(try DatabaseURL(base + "?sslmode=require&sslrootcert=/ca.pem").tlsMode == .verifyCA)
        #expect(try DatabaseURL(base + "?sslmode=verify-ca").tlsMode == .verifyCA)
        #expect(try DatabaseURL(base + "?sslmode=verify-full&sslrootcert=/ca.pem").rootCertificatePath == "/ca.pem")
        #expect(try DatabaseURL(base + "?sslmode=verify-full&sslrootcert=system").rootCertificatePath == nil)
        #expect(try DatabaseURL(base + "?sslmode=disable").tlsConfiguration == nil)
        #expect(try DatabaseURL(base + "?sslmode=require").tlsConfiguration?.certificateVerification == CertificateVerification.none)
        let error = try #require(throws: DatabaseURLError.self) { try DatabaseURL(base + "?sslmode=verify_full") }
        #expect(error.description == "invalid DATABASE_URL: unknown sslmode verify_full")
    }
}
