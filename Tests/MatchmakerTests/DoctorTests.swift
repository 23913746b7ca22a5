import EmbeddedSupabase
import Foundation
import Logging
import MatchmakerCore
import Shared
import TestSupport
import Testing

/// `matchmaker doctor` against a running `serve` on the embedded backend: ready as it comes, and each
/// check that can fail there names the problem.
@Suite struct DoctorTests {
    static let secret = "a-project-secret-of-at-least-32-bytes"

    static func key(role: String) async throws -> String {
        try await JWTVerifier.sign(SupabaseClaims(role: role, exp: Date().addingTimeInterval(600)), secret: secret)
    }

    func report(port: Int, configure: (inout MatchmakerConfig) -> Void = { _ in }) async throws -> DoctorReport {
        var config = MatchmakerConfig()
        config.supabaseURL = "http://127.0.0.1:\(port)"
        config.serviceRoleKey = try await Self.key(role: "service_role")
        config.anonKey = try await Self.key(role: "anon")
        config.pass.attemptTimeout = .seconds(5)
        configure(&config)
        return await Doctor.run(config: config, logger: testLogger)
    }

    func status(_ report: DoctorReport, _ id: String) -> DoctorCheck.Status? { report.checks.first { $0.id == id }?.status }

    @Test func aLocalServeIsReadyAndSaysTheQueueIsOpenToBrowsers() async throws {
        try await withLiveServer { port, backend in
            backend.store.addBot("bot-friendly-alex-1")
            let report = try await report(port: port)
            #expect(report.ready, "\(report.text)")
            let expected: [String: DoctorCheck.Status] = [
                "supabase.key": .pass, "supabase.url": .pass, "supabase.queue": .pass, "supabase.migrations": .pass,
                "supabase.anon_enqueue": .pass, "supabase.anon_read": .warn, "supabase.rls": .pass, "supabase.bot_rows": .pass,
                "realtime.join": .pass, "realtime.broadcast": .pass,
            ]
            #expect(Dictionary(uniqueKeysWithValues: report.checks.map { ($0.id, $0.status) }) == expected)
            #expect(
                report.checks.first { $0.id == "supabase.migrations" }?.detail == "applied up to 20260701000008_bot_registry")
            #expect(report.checks.first { $0.id == "supabase.bot_rows" }?.detail.hasPrefix("1 bot row(s)") == true)
        }
    }

    @Test func aMissingQueueIsNamedWithItsFix() async throws {
        try await withLiveServer { port, _ in
            let report = try await report(port: port) { $0.queueName = "no-such-queue" }
            #expect(!report.ready)
            let queue = try #require(report.checks.first { $0.id == "supabase.queue" })
            #expect(queue.status == .fail)
            #expect(queue.detail.contains("`no-such-queue` does not exist"))
            #expect(queue.fix?.contains("pgmq.create('no-such-queue')") == true)
        }
    }

    @Test func aRefusedKeyFailsTheConnection() async throws {
        try await withLiveServer(configure: { $0.jwtSecret = Self.secret }) { port, _ in
            let report = try await report(port: port) { $0.serviceRoleKey = "sb_secret_not-this-project" }
            #expect(status(report, "supabase.key") == .pass)
            let url = try #require(report.checks.first { $0.id == "supabase.url" })
            #expect(url.status == .fail)
            #expect(url.detail.contains("refused the key: HTTP 401"))
            #expect(!report.ready)
        }
    }

    @Test func theAnonKeyInPlaceOfTheServiceKeyFails() async throws {
        try await withLiveServer { port, _ in
            let anon = try await Self.key(role: "anon")
            let report = try await report(port: port) { $0.serviceRoleKey = anon }
            #expect(status(report, "supabase.key") == .fail)
            #expect(!report.ready)
        }
    }

    @Test func nothingAnswersAtTheURL() async throws {
        // Nothing listens on port 1 (privileged, never a test server's): the connection is refused at once.
        let report = try await report(port: 1)
        #expect(report.checks.map(\.id) == ["supabase.key", "supabase.url"])
        #expect(status(report, "supabase.url") == .fail)
        #expect(report.text.hasSuffix("Not ready: 1 check(s) failed."))
    }

    @Test func withoutTheAnonKeyItsChecksAreSkippedNotPassed() async throws {
        try await withLiveServer { port, _ in
            let report = try await report(port: port) { $0.anonKey = nil }
            #expect(status(report, "supabase.anon_enqueue") == .skip)
            #expect(status(report, "supabase.anon_read") == .skip)
            #expect(status(report, "supabase.rls") == .skip)
            #expect(report.ready)
        }
    }

    @Test func noConfigurationIsNotReady() async {
        let report = await Doctor.run(config: MatchmakerConfig(), logger: testLogger)
        #expect(report.checks.map(\.id) == ["config"])
        #expect(!report.ready)
    }
}

/// The verdicts themselves, from answers a probe could get.
@Suite struct DiagnosisTests {
    @Test func keysAreToldApartByTheirShape() async throws {
        let secret = "a-project-secret-of-at-least-32-bytes"
        let service = try await JWTVerifier.sign(SupabaseClaims(role: "service_role", exp: Date()), secret: secret)
        let anon = try await JWTVerifier.sign(SupabaseClaims(role: "anon", exp: Date()), secret: secret)
        #expect(APIKeyKind(service) == .jwt(role: "service_role"))
        #expect(APIKeyKind(anon) == .jwt(role: "anon"))
        #expect(APIKeyKind("sb_secret_abc") == .secret)
        #expect(APIKeyKind("sb_publishable_abc") == .publishable)
        #expect(APIKeyKind("test-key") == .unrecognised)
        #expect(APIKeyKind("a.b.c") == .unrecognised)
        #expect(Diagnosis.serviceKey(.publishable).status == .fail)
        #expect(Diagnosis.serviceKey(.jwt(role: "anon")).status == .fail)
    }

    @Test func aGapInTheMigrationsIsNamed() {
        let check = Diagnosis.migrations(
            [("0003", "ack_stranger_match", true), ("0004", "release_stranger_messages", false), ("0005", "claim_stranger_matches", true)],
            scope: "database")
        #expect(check.status == .fail)
        #expect(check.detail == "applied up to 0005, but missing 0004 (release_stranger_messages)")
        #expect(Diagnosis.migrations([("0003", "ack_stranger_match", false)], scope: "database").detail.contains("none"))
    }

    @Test func onlyACronJobCallingTheProjectsFunctionFails() {
        let ours = (id: 1, command: "select net.http_post(url := 'https://matchmaker.example.com/functions/v1/stranger-matchmaker')")
        let old = (id: 7, command: "select net.http_post(url := 'https://abc.supabase.co/functions/v1/stranger-matchmaker')")
        let custom = (id: 9, command: "select net.http_post(url := 'https://api.vynchat.app/functions/v1/stranger-matchmaker')")
        #expect(Diagnosis.cron(jobs: nil, projectHost: nil).status == .pass)
        #expect(Diagnosis.cron(jobs: [ours], projectHost: "abc.supabase.co").status == .pass)
        let failing = Diagnosis.cron(jobs: [ours, old], projectHost: nil)
        #expect(failing.status == .fail)
        #expect(failing.fix?.hasPrefix("select cron.unschedule(7)") == true)
        #expect(Diagnosis.cron(jobs: [custom], projectHost: "api.vynchat.app").status == .fail)
    }

    @Test func theAnonEnqueueIsOpenUnlessThePrivilegeIsMissing() {
        #expect(Diagnosis.anonEnqueue(.answered(status: 404, code: "42P01", body: nil)).status == .pass)
        #expect(Diagnosis.anonEnqueue(.answered(status: 401, code: "42501", body: nil)).status == .warn)
        #expect(Diagnosis.anonEnqueue(nil).status == .skip)
        #expect(Diagnosis.anonOutbox(.answered(status: 200, code: nil, body: [["room_id": "r"]])).status == .fail)
        #expect(Diagnosis.anonOutbox(.answered(status: 200, code: nil, body: [])).status == .pass)
    }

    @Test func botRowsWithoutWhatTheAppRequiresFail() {
        let rows: JSONValue = [
            ["id": "b1", "email": "bot-a-1@bot.internal", "email_verified": true, "created_at": "t", "updated_at": "t"],
            ["id": "b2", "email": "bot-a-2@bot.internal", "email_verified": nil, "created_at": "t", "updated_at": "t"],
        ]
        let check = Diagnosis.botRows(.answered(status: 200, code: nil, body: rows))
        #expect(check.status == .fail)
        #expect(check.detail == "1 of 2 bot row(s) lack a required column (b2)")
        #expect(Diagnosis.botRows(.answered(status: 400, code: "42703", body: nil)).status == .fail)
    }

    @Test func messagesReadTwiceWithoutALeaseMeanAnotherReader() {
        #expect(Diagnosis.zeroLeaseReaders(count: 0, queue: "q").status == .pass)
        #expect(Diagnosis.zeroLeaseReaders(count: 3, queue: "q").status == .fail)
    }
}
