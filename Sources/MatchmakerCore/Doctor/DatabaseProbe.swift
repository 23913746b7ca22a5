import Foundation
import Logging
import PostgresNIO
import Shared

/// What `matchmaker doctor` reads from the database itself (`DATABASE_URL`): the catalog, pg_cron's
/// jobs and the queue's table. It writes nothing. The verdicts are `Diagnosis`'s.
struct DatabaseProbe {
    /// Our migrations that add functions, oldest first, by the function each adds: the API probe's, and the
    /// bot registry, which the catalog answers for whether or not the API serves `idle_bots` yet.
    static let migrationFunctions = SupabaseProbe.migrationProbes.map { (migration: $0.migration, function: $0.function) }

    /// The tables we add that browsers must not read (row-level security on, no policy).
    static let closedTables = ["matchmaker_outbox", "matchmaker_bot"]

    /// The pool, running while the probe runs.
    let client: PostgresClient
    let queue: String
    /// The project's host (from `SUPABASE_URL`), to tell the old Edge Function's URL from ours.
    let projectHost: String?
    /// How long the first query may take (`REALTIME_CONNECT_TIMEOUT`): a database that never answers fails the check.
    let connectTimeout: Duration
    let logger: Logger

    /// Every check, in order; the first failure to connect ends the list.
    func checks() async -> [DoctorCheck] {
        do {
            try await withTimeout(connectTimeout, time: .system) {
                _ = try await client.query("select 1", logger: logger).decode(Int.self).all()
            }
        } catch {
            return [
                DoctorCheck(
                    "database.connection", .fail, "cannot connect: \(String(reflecting: error).prefix(200))",
                    fix: "check DATABASE_URL (postgresql://user:password@host:5432/postgres?sslmode=require)")
            ]
        }
        var checks = [DoctorCheck("database.connection", .pass, "connected")]
        checks.append(await queueCheck())
        checks.append(await migrationCheck())
        checks += await privilegeChecks()
        checks.append(await rowLevelSecurityCheck())
        checks.append(await botRowCheck())
        checks.append(await cronCheck())
        checks.append(await zeroLeaseCheck())
        return checks
    }

    private func queueCheck() async -> DoctorCheck {
        let exists = try? await scalar(Bool.self, "select exists (select 1 from pgmq.meta where queue_name = \(queue))")
        switch exists {
        case true?: return DoctorCheck("database.queue", .pass, "pgmq is installed and `\(queue)` exists")
        case false?:
            return DoctorCheck("database.queue", .fail, "the queue `\(queue)` does not exist", fix: "select pgmq.create('\(queue)')")
        case nil:
            return DoctorCheck(
                "database.queue", .fail, "pgmq is not installed", fix: "enable Queues (pgmq) in the dashboard, or create extension pgmq")
        }
    }

    private func migrationCheck() async -> DoctorCheck {
        let names = Self.migrationFunctions.map(\.function)
        var present: Set<String> = []
        if let rows = try? await client.query(
            "select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public' and p.proname = any(\(names))",
            logger: logger)
        {
            present = Set((try? await rows.decode(String.self).all()) ?? [])
        }
        return Diagnosis.migrations(
            Self.migrationFunctions.map { ($0.migration, $0.function, present.contains($0.function)) }, scope: "database")
    }

    private func privilegeChecks() async -> [DoctorCheck] {
        let query: PostgresQuery = """
            select has_function_privilege('anon', 'pgmq_public.send(text, jsonb, integer)', 'execute'),
                   has_function_privilege('anon', 'pgmq_public.read(text, integer, integer)', 'execute')
            """
        guard let rows = try? await client.query(query, logger: logger), let first = try? await rows.decode((Bool, Bool).self).all().first
        else {
            return [
                DoctorCheck(
                    "database.anon_enqueue", .skip, "no `anon` role or no pgmq_public wrappers: not a Supabase database",
                    fix: "on Supabase, expose queues via PostgREST (it creates pgmq_public and its grants)")
            ]
        }
        return Diagnosis.anonPrivileges(canSend: first.0, canRead: first.1, queue: queue)
    }

    private func rowLevelSecurityCheck() async -> DoctorCheck {
        var tables: [(name: String, enabled: Bool)] = []
        if let rows = try? await client.query(
            """
            select c.relname::text, c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relname = any(\(Self.closedTables))
            order by c.relname
            """, logger: logger)
        {
            tables = ((try? await rows.decode((String, Bool).self).all()) ?? []).map { ($0.0, $0.1) }
        }
        return Diagnosis.rowLevelSecurity(tables)
    }

    private func botRowCheck() async -> DoctorCheck {
        let query: PostgresQuery = """
            select id, (email is not null and email_verified is not null and created_at is not null and updated_at is not null)
            from public."user" where is_bot
            """
        do {
            let rows = try await client.query(query, logger: logger).decode((String, Bool).self).all()
            return Diagnosis.botRows(scope: "database", total: rows.count, incomplete: rows.filter { !$0.1 }.map(\.0))
        } catch {
            return DoctorCheck(
                "database.bot_rows", .fail, "cannot read bot rows: \(String(reflecting: error).prefix(200))",
                fix: "the app's `user` table needs id, email, email_verified, created_at, updated_at and is_bot; apply the migrations")
        }
    }

    private func cronCheck() async -> DoctorCheck {
        guard (try? await scalar(Bool.self, "select to_regclass('cron.job') is not null")) == true else {
            return Diagnosis.cron(jobs: nil, projectHost: projectHost)
        }
        var jobs =
            ((try? await client.query("select jobid, command from cron.job", logger: logger).decode((Int64, String).self).all()) ?? [])
            .map { (id: Int($0.0), command: $0.1) }
        // `deploy/supabase/cron.sql` (and Supabase's own recipe) keep the URL in Vault as `project_url`:
        // read that one URL, so that a job calling the project's function is recognised.
        if jobs.contains(where: { $0.command.contains("decrypted_secrets") }),
            (try? await scalar(Bool.self, "select to_regclass('vault.decrypted_secrets') is not null")) == true,
            let url = try? await scalar(
                String.self,
                "select decrypted_secret from vault.decrypted_secrets where name = 'project_url' and decrypted_secret like 'http%'")
        {
            jobs = jobs.map { job in job.command.contains("decrypted_secrets") ? (job.id, "\(job.command) -- project_url: \(url)") : job }
        }
        return Diagnosis.cron(jobs: jobs, projectHost: projectHost)
    }

    private func zeroLeaseCheck() async -> DoctorCheck {
        let table = "pgmq.\"q_\(queue.lowercased().replacingOccurrences(of: "\"", with: "\"\""))\""
        guard
            let count = try? await scalar(
                Int64.self, PostgresQuery(unsafeSQL: "select count(*) from \(table) where read_ct > 1 and vt <= now()"))
        else {
            return DoctorCheck("database.vt_zero", .skip, "the queue's table cannot be read", fix: "create the queue first")
        }
        return Diagnosis.zeroLeaseReaders(count: Int(count), queue: queue)
    }

    private func scalar<T: PostgresDecodable & Sendable>(_ type: T.Type, _ query: PostgresQuery) async throws -> T? {
        try await client.query(query, logger: logger).decode(T.self).all().first
    }
}

extension AsyncSequence where Self: Sendable {
    /// Every element, in order.
    fileprivate func all() async throws -> [Element] {
        var elements: [Element] = []
        for try await element in self { elements.append(element) }
        return elements
    }
}
