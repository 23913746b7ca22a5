import Foundation
import MatchmakerCore
import PostgresNIO
import TestSupport
import Testing

/// `matchmaker doctor` on the app's database as a live project has it, with our migrations: ready as
/// set up, and each check that can fail on a database names the problem (the checks run one by one,
/// each breaking one thing and restoring it).
extension PostgresSuite {
    func doctor(queue: String) async throws -> DoctorReport {
        var config = MatchmakerConfig()
        config.databaseURL = try TestDatabase.requireURL()
        config.queueName = queue
        // The production connect timeout (8 s) is not what these checks are about; a saturated CI machine has
        // taken longer than that to open a connection.
        config.pass.attemptTimeout = .seconds(60)
        return await Doctor.run(config: config, logger: TestDatabase.logger)
    }

    func check(_ report: DoctorReport, _ id: String) throws -> DoctorCheck {
        try #require(report.checks.first { $0.id == id }, "no check \(id) in \(report.text)")
    }

    /// The check `id` while `breaking` is in force; `restoring` undoes it before anything is asserted.
    func checkWhileBroken(_ client: PostgresClient, queue: String, _ id: String, breaking: PostgresQuery, restoring: PostgresQuery)
        async throws -> DoctorCheck
    {
        try await client.command(breaking, logger: TestDatabase.logger)
        let report = try await doctor(queue: queue)
        try await client.command(restoring, logger: TestDatabase.logger)
        return try check(report, id)
    }

    @Test func doctorPassesOnTheAppsDatabaseAndNamesEachProblem() async throws {
        try await TestDatabase.withClient { client in
            let queue = TestDatabase.uniquePrefix("doctor")
            try await client.createQueue(queue)

            let ready = try await doctor(queue: queue)
            #expect(ready.ready, "\(ready.text)")
            let statuses = Dictionary(uniqueKeysWithValues: ready.checks.map { ($0.id, $0.status) })
            #expect(
                statuses == [
                    "database.connection": .pass, "database.queue": .pass, "database.migrations": .pass,
                    "database.anon_enqueue": .pass, "database.anon_read": .warn, "database.rls": .pass, "database.bot_rows": .pass,
                    "database.cron": .pass, "database.vt_zero": .pass,
                ])
            #expect(try check(ready, "database.migrations").detail == "applied up to 20260701000008_bot_registry")
            #expect(try check(ready, "database.rls").detail == "row-level security is on for matchmaker_bot, matchmaker_outbox")

            // Another reader with visibility timeout 0, as the old Edge Function read.
            try await client.command("select pgmq.send(\(queue), '{\"userId\":\"u1\"}'::jsonb)", logger: TestDatabase.logger)
            for _ in 0..<2 { try await client.command("select * from pgmq.read(\(queue), 0, 1)", logger: TestDatabase.logger) }
            let vtZero = try check(try await doctor(queue: queue), "database.vt_zero")
            #expect(vtZero.status == .fail)
            #expect(vtZero.detail.hasPrefix("1 message(s)"))

            // The old Edge Function still scheduled by pg_cron (`cron.job` as pg_cron has it): once with its URL
            // in the command, once through Vault's `project_url` as deploy/supabase/cron.sql does.
            try await client.command("create schema cron", logger: TestDatabase.logger)
            try await client.command("create table cron.job (jobid bigint, command text)", logger: TestDatabase.logger)
            try await client.command("create schema vault", logger: TestDatabase.logger)
            try await client.command("create table vault.decrypted_secrets (name text, decrypted_secret text)", logger: TestDatabase.logger)
            try await client.command(
                "insert into vault.decrypted_secrets values ('project_url', 'https://abc.supabase.co')", logger: TestDatabase.logger)
            try await client.command(
                """
                insert into cron.job values
                (42, 'select net.http_post(url := ''https://abc.supabase.co/functions/v1/stranger-matchmaker'')'),
                (43, 'select net.http_post(url := (select decrypted_secret from vault.decrypted_secrets where name = ''project_url'')
                     || ''/functions/v1/stranger-matchmaker'')'),
                (44, 'select net.http_post(url := ''https://matchmaker.example.com/functions/v1/stranger-matchmaker'')')
                """, logger: TestDatabase.logger)
            let cron = try check(try await doctor(queue: queue), "database.cron")
            try await client.command("drop schema cron cascade", logger: TestDatabase.logger)
            try await client.command("drop schema vault cascade", logger: TestDatabase.logger)
            #expect(cron.status == .fail)
            #expect(cron.detail.hasPrefix("pg_cron job(s) 42, 43 still call the Edge Function"))
            #expect(cron.fix?.hasPrefix("select cron.unschedule(42)") == true)

            // Row-level security switched off on our outbox.
            let rls = try await checkWhileBroken(
                client, queue: queue, "database.rls", breaking: "alter table public.matchmaker_outbox disable row level security",
                restoring: "alter table public.matchmaker_outbox enable row level security")
            #expect(rls.status == .fail)
            let registry = try await checkWhileBroken(
                client, queue: queue, "database.rls", breaking: "alter table public.matchmaker_bot disable row level security",
                restoring: "alter table public.matchmaker_bot enable row level security")
            #expect(registry.status == .fail)
            #expect(registry.detail.hasPrefix("row-level security is off for matchmaker_bot:"))

            // The app server's enqueue closed to anon.
            let enqueue = try await checkWhileBroken(
                client, queue: queue, "database.anon_enqueue",
                breaking: "revoke execute on function pgmq_public.send(text, jsonb, integer) from public, anon",
                restoring: "grant execute on function pgmq_public.send(text, jsonb, integer) to public, anon")
            #expect(enqueue.status == .warn)

            // A migration missing.
            let migrations = try await checkWhileBroken(
                client, queue: queue, "database.migrations",
                breaking: "alter function public.claim_stranger_matches rename to claim_stranger_matches_away",
                restoring: "alter function public.claim_stranger_matches_away rename to claim_stranger_matches")
            #expect(migrations.status == .fail)
            #expect(migrations.detail.contains("missing 20260701000005_claim_stranger_matches"))

            // A queue that does not exist.
            let missing = try check(try await doctor(queue: "no-such-queue"), "database.queue")
            #expect(missing.status == .fail)
            // With the twice-read message gone, everything is as it was: ready again.
            try await client.command("select pgmq.purge_queue(\(queue))", logger: TestDatabase.logger)
            let again = try await doctor(queue: queue)
            #expect(again.ready, "\(again.text)")
        }
    }

    @Test func doctorOnADatabaseThatDoesNotAnswerFailsTheConnection() async throws {
        var config = MatchmakerConfig()
        config.databaseURL = "postgres://nobody:nothing@127.0.0.1:1/none?sslmode=disable"
        config.pass.attemptTimeout = .seconds(1)
        let report = await Doctor.run(config: config, logger: TestDatabase.logger)
        #expect(report.checks.map(\.id) == ["database.connection"])
        #expect(!report.ready)
    }
}
