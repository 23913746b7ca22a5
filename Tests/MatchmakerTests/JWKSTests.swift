import CryptoExtras
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JWTKit
import Logging
import MatchmakerCore
import Shared
import Synchronization
import TestSupport
import Testing

/// Signing keys as a Supabase project has them: ES256 and RS256 key pairs with `kid`s, and the JWKS
/// document that publishes their public halves.
struct SigningKeys: Sendable {
    let es256 = ES256PrivateKey()
    let rs256: JWTKit.Insecure.RSA.PrivateKey
    let esKid = "es-\(UUID().uuidString.prefix(8))"
    let rsKid = "rs-\(UUID().uuidString.prefix(8))"

    init() throws {
        rs256 = try JWTKit.Insecure.RSA.PrivateKey(backing: _RSA.Signing.PrivateKey(keySize: .bits2048))
    }

    /// The ES256 key's JWK (public), under `kid`.
    func esJWK(kid: String? = nil) throws -> JSONValue {
        let parameters = try #require(es256.publicKey.parameters)
        return [
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": .string(kid ?? esKid),
            "x": .string(parameters.x), "y": .string(parameters.y),
        ]
    }

    /// The RS256 key's JWK (public).
    func rsJWK() throws -> JSONValue {
        let (modulus, exponent) = try rs256.publicKey.getKeyPrimitives()
        return [
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": .string(rsKid),
            "n": .string(Self.base64URL(modulus)), "e": .string(Self.base64URL(exponent)),
        ]
    }

    /// A JWKS document with `keys`.
    static func document(_ keys: [JSONValue]) throws -> String { try JSONCoding.string(["keys": .array(keys)] as JSONValue) }

    func signES256(_ claims: SupabaseClaims, kid: String? = nil, header: JWTHeader = JWTHeader()) async throws -> String {
        let kid = JWKIdentifier(string: kid ?? esKid)
        return try await JWTKeyCollection().add(ecdsa: es256, kid: kid).sign(claims, kid: kid, header: header)
    }

    func signRS256(_ claims: SupabaseClaims, kid: String? = nil) async throws -> String {
        let kid = JWKIdentifier(string: kid ?? rsKid)
        return try await JWTKeyCollection().add(rsa: rs256, digestAlgorithm: .sha256, kid: kid).sign(claims, kid: kid)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}

/// A JWKS document served on a free port, counting its fetches.
final class JWKSServer: Sendable {
    let document: Mutex<String>
    let fetches = Atomic<Int>(0)

    init(document: String) { self.document = Mutex(document) }

    /// Runs `body` with the document's URL while the server listens.
    func serve(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        router.get("/auth/v1/.well-known/jwks.json") { _, _ in
            self.fetches.add(1, ordering: .relaxed)
            return Response(
                status: .ok, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: self.document.withLock { $0 })))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: testLogger)
        try await app.test(.live) { client in
            try await body("http://127.0.0.1:\(try #require(client.port))/auth/v1/.well-known/jwks.json")
        }
    }
}

let hour = Date().addingTimeInterval(3600)

@Suite struct JWKSVerifierTests {
    let keys: SigningKeys
    let secret = "super-secret-jwt-token-with-at-least-32-characters-long"

    init() throws { keys = try SigningKeys() }

    /// A verifier over `document` (loaded now) on a virtual clock; the returned counter counts fetches.
    func verifier(_ document: String, secret: String? = nil, time: Timekeeper = .virtual(start: Date()))
        async throws -> (JWTVerifier, JWKSCache, JWKSServer)
    {
        let served = JWKSServer(document: document)
        let cache = JWKSCache(time: time, logger: testLogger) { served.document.withLock { $0 } }
        try await cache.refresh()
        return (await JWTVerifier(secret: secret, jwks: cache, time: time), cache, served)
    }

    @Test func es256AndRS256TokensFromTheJWKSAreAcceptedBesideHS256() async throws {
        let (verifier, _, _) = try await verifier(try SigningKeys.document([keys.esJWK(), keys.rsJWK()]), secret: secret)
        #expect(try await verifier.verify(token: keys.signES256(SupabaseClaims(role: "authenticated", exp: hour))).role == "authenticated")
        #expect(try await verifier.verify(token: keys.signRS256(SupabaseClaims(role: "anon", exp: hour))).role == "anon")
        let legacy = try await JWTVerifier.sign(SupabaseClaims(role: "service_role", exp: hour), secret: secret)
        #expect(try await verifier.verify(token: legacy).role == "service_role")
    }

    /// The embedded backend publishes the keys of a project on its legacy secret, so that a matchmaker whose
    /// `SUPABASE_URL` is an embedded `serve` (the postgres backend's Realtime in tests and benches) loads them
    /// at start instead of retrying a 404 for ever.
    @Test func theEmbeddedBackendPublishesNoKeysAsALegacySecretProjectDoes() async throws {
        try await withLiveHTTP { client, _ in
            let response = try await client.execute(uri: "/auth/v1/.well-known/jwks.json", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            let document = response.text
            #expect(document == #"{"keys":[]}"#)
            let cache = JWKSCache(logger: testLogger) { document }
            try await cache.refresh()
            #expect(await cache.keyIDs.isEmpty)
        }
    }

    /// A project on its legacy HS256 secret publishes `{"keys":[]}`: that loads as no keys (no retry loop), and the
    /// project's own legacy service-role key, configured here, still authenticates its cron job without the secret.
    @Test func anEmptyJWKSLoadsAsNoKeysAndTheConfiguredLegacyKeyStillPasses() async throws {
        let served = JWKSServer(document: #"{"keys":[]}"#)
        let time = Timekeeper.virtual(start: Date())
        let cache = JWKSCache(time: time, logger: testLogger) { served.document.withLock { $0 } }
        try await cache.refresh()
        #expect(await cache.keyIDs.isEmpty)
        let serviceKey = try await JWTVerifier.sign(SupabaseClaims(role: "service_role", exp: hour), secret: secret)
        let other = try await JWTVerifier.sign(
            SupabaseClaims(role: "service_role", exp: hour), secret: "another-secret-of-32-characters-or-more")
        let verifier = await JWTVerifier(secret: nil, jwks: cache, apiKeys: [serviceKey], time: time)
        #expect(try await verifier.authorize(authorization: "Bearer \(serviceKey)", apiKey: nil, jwtInAPIKey: false).role == "service_role")
        await #expect(throws: InvalidJWT.self) {
            try await verifier.authorize(authorization: "Bearer \(other)", apiKey: nil, jwtInAPIKey: false)
        }
    }

    @Test func theServiceKeyGoesOnlyToTheProjectsOwnOrigin() {
        #expect(Authentication.sameOrigin("https://abc.supabase.co/auth/v1/.well-known/jwks.json", "https://abc.supabase.co"))
        #expect(!Authentication.sameOrigin("https://abc.supabase.co.evil.net/auth/v1/.well-known/jwks.json", "https://abc.supabase.co"))
        #expect(!Authentication.sameOrigin("http://abc.supabase.co/jwks", "https://abc.supabase.co"))
        #expect(!Authentication.sameOrigin("https://abc.supabase.co:8443/jwks", "https://abc.supabase.co"))
    }

    @Test func anUnknownKidRefreshesOnceAndAtMostOncePerThirtySeconds() async throws {
        let time = Timekeeper.virtual(start: Date())
        let (verifier, cache, served) = try await verifier(try SigningKeys.document([keys.rsJWK()]), time: time)
        #expect(await cache.fetches == 1)
        // The ES256 key is published later: the first token naming it refreshes, and is then accepted.
        let document = try SigningKeys.document([keys.rsJWK(), keys.esJWK()])
        served.document.withLock { $0 = document }
        #expect(try await verifier.verify(token: keys.signES256(SupabaseClaims(role: "anon", exp: hour))).role == "anon")
        #expect(await cache.fetches == 2)
        // A kid nobody publishes is refused; within 30 s of the last fetch it costs no fetch.
        let stranger = try await keys.signES256(SupabaseClaims(role: "anon", exp: hour), kid: "nobody")
        await #expect(throws: InvalidJWT.self) { try await verifier.verify(token: stranger) }
        await #expect(throws: InvalidJWT.self) { try await verifier.verify(token: stranger) }
        #expect(await cache.fetches == 2)
        try await time.sleep(.seconds(31))
        await #expect(throws: InvalidJWT.self) { try await verifier.verify(token: stranger) }
        #expect(await cache.fetches == 3)
    }

    @Test func aBadSignatureUnderAKnownKidIsRefused() async throws {
        let (verifier, _, _) = try await verifier(try SigningKeys.document([keys.esJWK()]))
        let impostor = ES256PrivateKey()
        let kid = JWKIdentifier(string: keys.esKid)
        let forged = try await JWTKeyCollection().add(ecdsa: impostor, kid: kid).sign(
            SupabaseClaims(role: "service_role", exp: hour), kid: kid)
        let error = await #expect(throws: InvalidJWT.self) { try await verifier.verify(token: forged) }
        #expect(error?.reason.contains("signature") == true)
    }

    /// jwt-kit 5 alone verifies with the default key whatever the header says; we refuse a header whose
    /// `alg` is not the key's.
    @Test func theHeadersAlgMustBeTheKeys() async throws {
        let (verifier, _, _) = try await verifier(try SigningKeys.document([keys.esJWK(), keys.rsJWK()]), secret: secret)
        let hmac = await JWTKeyCollection().add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
        let claims = SupabaseClaims(role: "service_role", exp: hour)
        // HS256 signatures under headers that claim another algorithm.
        for alg in ["HS512", "RS256", "ES256", "none"] {
            var header = JWTHeader()
            header.alg = alg
            if alg != "HS512" { header.kid = alg == "RS256" ? keys.rsKid : keys.esKid }
            let token = try await hmac.sign(claims, header: header)
            await #expect(throws: InvalidJWT.self, "HS256 signed, header \(alg)") { try await verifier.verify(token: token) }
        }
        // What jwt-kit alone does with the first of them: it accepts it.
        var lenient = JWTHeader()
        lenient.alg = "HS512"
        #expect(try await hmac.verify(try await hmac.sign(claims, header: lenient), as: SupabaseClaims.self).role == "service_role")
        // An RS256 signature presented under the ES256 key's kid.
        let rsUnderES = try await keys.signRS256(claims, kid: keys.esKid)
        let error = await #expect(throws: InvalidJWT.self) { try await verifier.verify(token: rsUnderES) }
        #expect(error?.reason.contains("does not match") == true)
        // An asymmetric token without a kid.
        let noKid = try await JWTKeyCollection().add(ecdsa: keys.es256).sign(claims)
        await #expect(throws: InvalidJWT.self) { try await verifier.verify(token: noKid) }
    }

    @Test func nbfAndIatInTheFutureAreRefusedBeyondThirtySeconds() async throws {
        let (verifier, _, _) = try await verifier(try SigningKeys.document([keys.esJWK()]), secret: secret, time: .system)
        let now = Date()
        for (claims, accepted) in [
            (SupabaseClaims(role: "anon", exp: hour, nbf: now.addingTimeInterval(120)), false),
            (SupabaseClaims(role: "anon", exp: hour, iat: now.addingTimeInterval(120)), false),
            (SupabaseClaims(role: "anon", exp: hour, nbf: now.addingTimeInterval(10), iat: now.addingTimeInterval(10)), true),
            (SupabaseClaims(role: "anon", exp: hour, nbf: now.addingTimeInterval(-60), iat: now.addingTimeInterval(-60)), true),
        ] {
            for token in [try await keys.signES256(claims), try await JWTVerifier.sign(claims, secret: secret)] {
                if accepted {
                    _ = try await verifier.verify(token: token)
                } else {
                    await #expect(throws: InvalidJWT.self) { try await verifier.verify(token: token) }
                }
            }
        }
    }
}

/// `serve` with `SUPABASE_JWKS_URL` pointing at a JWKS document served over HTTP.
@Suite struct JWKSServeTests {
    @Test func serveVerifiesWithTheFetchedJWKSAndRefreshesOnceForANewKid() async throws {
        let keys = try SigningKeys()
        let secret = "super-secret-jwt-token-with-at-least-32-characters-long"
        let jwks = JWKSServer(document: try SigningKeys.document([keys.rsJWK()]))
        try await jwks.serve { url in
            try await withLiveHTTP(configure: {
                $0.jwksURL = url
                $0.jwtSecret = secret
            }) { client, _ in
                let path = "/functions/v1/stranger-matchmaker"
                func call(_ token: String) async throws -> HTTPResponse.Status {
                    try await client.execute(uri: path, method: .post, headers: [.authorization: "Bearer \(token)"]).status
                }
                // The refresher's first fetch.
                try await eventually { jwks.fetches.load(ordering: .relaxed) == 1 }
                let rs = try await keys.signRS256(SupabaseClaims(role: "anon", exp: hour))
                #expect(try await call(rs) == .ok)
                #expect(try await call(try await JWTVerifier.sign(SupabaseClaims(role: "anon", exp: hour), secret: secret)) == .ok)
                // A new ES256 key is published: its first token costs exactly one fetch and passes.
                let document = try SigningKeys.document([keys.rsJWK(), keys.esJWK()])
                jwks.document.withLock { $0 = document }
                #expect(try await call(try await keys.signES256(SupabaseClaims(role: "anon", exp: hour))) == .ok)
                #expect(jwks.fetches.load(ordering: .relaxed) == 2)
                // A kid nobody publishes, a forged signature: 401, and no further fetch within 30 s.
                #expect(try await call(try await keys.signES256(SupabaseClaims(role: "anon", exp: hour), kid: "nobody")) == .unauthorized)
                let forged = try await JWTKeyCollection().add(ecdsa: ES256PrivateKey(), kid: JWKIdentifier(string: keys.esKid))
                    .sign(SupabaseClaims(role: "service_role", exp: hour), kid: JWKIdentifier(string: keys.esKid))
                #expect(try await call(forged) == .unauthorized)
                #expect(jwks.fetches.load(ordering: .relaxed) == 2)
            }
        }
    }
}

/// `JWKSRefresher`: the first fetch is retried with backoff until it succeeds, then refreshes wait `interval`.
@Suite struct JWKSRefresherTests {
    @Test func theFirstFetchIsRetriedWithBackoffUntilItSucceeds() async throws {
        let keys = try SigningKeys()
        let document = try SigningKeys.document([keys.esJWK()])
        let attempts = Atomic<Int>(0)
        let delays = Mutex<[Duration]>([])
        // Sleeps return at once, except the wait after a success, which lasts until the test cancels it.
        let time = Timekeeper(now: { Date() }) { duration in
            delays.withLock { $0.append(duration) }
            if duration >= .seconds(600) { try await Task.sleep(for: .seconds(3600)) }
        }
        let cache = JWKSCache(time: time, logger: testLogger) {
            let attempt = attempts.add(1, ordering: .relaxed).newValue
            guard attempt > 2 else { throw UpstreamError(kind: .status(503), message: "not yet") }
            return document
        }
        let refresher = JWKSRefresher(cache: cache, url: "test", time: time, logger: testLogger)
        let task = Task { try await refresher.run() }
        try await eventually { delays.withLock { $0.count } == 3 }
        task.cancel()
        #expect(await cache.keyIDs == [keys.esKid])
        #expect(attempts.load(ordering: .relaxed) == 3)
        let waits = delays.withLock { $0 }
        #expect(waits[0] >= .seconds(1) && waits[0] <= .seconds(1.3), "1 s plus up to 30 % jitter: \(waits)")
        #expect(waits[1] >= .seconds(2) && waits[1] <= .seconds(2.6), "then 2 s: \(waits)")
        #expect(waits[2] == .seconds(600), "then the refresh interval: \(waits)")
    }

    /// Shutdown while the refresher waits out a failed fetch's backoff ends it quietly: an error out of `run()` would
    /// make the service group cancel the others instead of stopping them.
    @Test func shutdownDuringTheBackoffEndsTheRefresherWithoutAnError() async throws {
        let time = ManualTime()
        let cache = JWKSCache(time: time.timekeeper, logger: testLogger) { throw UpstreamError(kind: .status(503), message: "down") }
        let refresher = JWKSRefresher(cache: cache, url: "test", time: time.timekeeper, logger: testLogger)
        let task = Task { try await refresher.run() }
        var sleeps = time.sleeps.makeAsyncIterator()
        #expect(await sleeps.next() != nil, "in its backoff")
        task.cancel()
        try await task.value
    }

    /// While the JWKS cannot be fetched, its tokens get 401 and HS256 tokens still pass; once the
    /// document is served, its tokens pass.
    @Test func serveAnswers401ForJWKSTokensUntilTheKeysArrive() async throws {
        let keys = try SigningKeys()
        let secret = "super-secret-jwt-token-with-at-least-32-characters-long"
        let jwks = JWKSServer(document: "")
        try await jwks.serve { url in
            try await withLiveHTTP(configure: {
                $0.jwksURL = url
                $0.jwtSecret = secret
            }) { client, _ in
                func call(_ token: String) async throws -> HTTPResponse.Status {
                    try await client.execute(
                        uri: "/functions/v1/stranger-matchmaker", method: .post, headers: [.authorization: "Bearer \(token)"]
                    )
                    .status
                }
                let es = try await keys.signES256(SupabaseClaims(role: "anon", exp: hour))
                try await eventually { jwks.fetches.load(ordering: .relaxed) >= 1 }
                #expect(try await call(es) == .unauthorized)
                #expect(try await call(try await JWTVerifier.sign(SupabaseClaims(role: "anon", exp: hour), secret: secret)) == .ok)
                let document = try SigningKeys.document([keys.esJWK()])
                jwks.document.withLock { $0 = document }
                // The refresher's next retry (1 s, then 2 s, … after its failures) loads the keys.
                var status = HTTPResponse.Status.unauthorized
                for _ in 0..<300 where status != .ok {
                    status = try await call(es)
                    if status != .ok { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(status == .ok)
            }
        }
    }
}
