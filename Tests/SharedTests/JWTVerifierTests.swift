import Foundation
import Shared
import Testing

@Suite struct JWTVerifierTests {
    let secret = "super-secret-jwt-token-with-at-least-32-characters-long"

    @Test func acceptsAValidServiceRoleToken() async throws {
        let token = try await JWTVerifier.sign(SupabaseClaims(role: "service_role", exp: Date().addingTimeInterval(3600)), secret: secret)
        let claims = try await JWTVerifier(secret: secret).verify(authorization: "Bearer \(token)")
        #expect(claims.role == "service_role")
    }

    @Test func refusesAnExpiredToken() async throws {
        let token = try await JWTVerifier.sign(SupabaseClaims(role: "anon", exp: Date().addingTimeInterval(-60)), secret: secret)
        await #expect(throws: InvalidJWT.self) { try await JWTVerifier(secret: secret).verify(authorization: "Bearer \(token)") }
    }

    @Test func refusesATokenSignedWithAnotherSecret() async throws {
        let token = try await JWTVerifier.sign(
            SupabaseClaims(role: "anon", exp: Date().addingTimeInterval(60)), secret: "another-secret-of-sufficient-length-0123456789"
        )
        await #expect(throws: InvalidJWT.self) { try await JWTVerifier(secret: secret).verify(authorization: "Bearer \(token)") }
    }

    @Test(arguments: [nil, "", "Bearer", "Bearer not.a.jwt", "Basic dXNlcjpwYXNz", "Bearer eyJhbGciOiJub25lIn0.e30."])
    func refusesMissingOrMalformedHeaders(header: String?) async {
        await #expect(throws: InvalidJWT.self) { try await JWTVerifier(secret: secret).verify(authorization: header) }
    }
}
