import Foundation
import HTTPTypes
import HummingbirdTesting
import MatchmakerCore
import NIOCore
import Shared
import TestSupport
import Testing

extension PostgresSuite {
    /// The two kinds of key cron.sql may find in Vault: a legacy JWT (sent as a bearer token, to a `serve`
    /// with the project's JWT secret) and a new secret key (sent in `apikey` only, to a `serve` configured
    /// with that key).
    enum CronKey: String, CaseIterable, Sendable {
        case legacyJWT, secretKey
    }

    /// `deploy/supabase/cron.sql` with pg_cron, pg_net and Vault stood in for (`Tests/sql/cron-stubs.sql`):
    /// applied twice it keeps one job every 10 s; running the job posts to `<project_url>` plus the
    /// function's path with the key from Vault, in the header its kind goes in; and that request, sent as
    /// recorded to a live `serve` configured for that kind of key, runs a pass (and 401 without the key).
    @Test(arguments: CronKey.allCases)
    func cronSQLPostsToTheRouteServeServesWithTheKeyFromVault(kind: CronKey) async throws {
        let secret = "a-project-secret-of-at-least-32-bytes"
        let key =
            switch kind {
            case .legacyJWT: try await JWTVerifier.sign(SupabaseClaims(role: "anon", exp: Date().addingTimeInterval(600)), secret: secret)
            case .secretKey: "sb_secret_cron_test_key_0123456789"
            }
        let expectedHeaders: [(String, String)] =
            switch kind {
            case .legacyJWT: [("Content-Type", "application/json"), ("Authorization", "Bearer \(key)")]
            case .secretKey: [("Content-Type", "application/json"), ("apikey", key)]
            }
        try await withLiveHTTP(configure: {
            switch kind {
            case .legacyJWT: $0.jwtSecret = secret
            case .secretKey: $0.serviceRoleKey = key
            }
        }) { client, _ in
            let port = try #require(client.port)
            let projectURL = "http://127.0.0.1:\(port)"
            let cron = try String(contentsOf: TestDatabase.root.appendingPathComponent("deploy/supabase/cron.sql"), encoding: .utf8)
            let body = cron.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { !$0.lowercased().hasPrefix("create extension") }.joined(separator: "\n")
            #expect(body.count < cron.count, "cron.sql creates pg_cron and pg_net")
            let stubs = TestDatabase.root.appendingPathComponent("Tests/sql/cron-stubs.sql").path
            let rows = try TestDatabase.rolledBack(
                """
                \\i \(stubs)
                insert into vault.decrypted_secrets values ('project_url', '\(projectURL)'), ('matchmaker_key', '\(key)');
                \(body)
                \(body)
                select 'job|' || jobname || '|' || schedule from cron.job;
                do $run$ begin execute (select command from cron.job); end $run$;
                select 'sent|' || url || '|' || headers::text || '|' || timeout_milliseconds || '|' || (body ? 'time') from net.sent;
                """)
            #expect(rows.filter { $0.hasPrefix("job|") } == ["job|stranger-matchmaker-every-10s|10 seconds"])
            let sent = rows.filter { $0.hasPrefix("sent|") }.map { $0.split(separator: "|", omittingEmptySubsequences: false) }
            try #require(sent.count == 1, "one request per run: \(rows)")
            let url = String(sent[0][1])
            #expect(url == "\(projectURL)/functions/v1/stranger-matchmaker")
            let headers = try JSONValue(parsing: Data(sent[0][2].utf8))
            #expect(headers == .object(Dictionary(uniqueKeysWithValues: expectedHeaders.map { ($0.0, JSONValue.string($0.1)) })))
            #expect(sent[0][3] == "8000")
            #expect(sent[0][4] == "true", "the body carries the time")

            // The recorded request, sent to serve: the path is the function's route, the key passes its JWT check.
            let path = try #require(URL(string: url)).path
            var fields = HTTPFields()
            for (name, value) in expectedHeaders {
                fields[try #require(HTTPField.Name(name))] = value
            }
            let response = try await client.execute(uri: path, method: .post, headers: fields)
            #expect(response.status == .ok)
            let answer = try JSONValue(parsing: Data(response.body.readableBytesView))
            #expect(answer["success"] == true)
            #expect(answer["message"] == "No users in queue")
            let unauthenticated = try await client.execute(uri: path, method: .post)
            #expect(unauthenticated.status == .unauthorized)
        }
    }
}
