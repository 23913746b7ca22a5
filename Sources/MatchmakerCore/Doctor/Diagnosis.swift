import Foundation
import Shared

/// What one upstream call came back with, as far as a diagnosis needs it.
public enum ProbeAnswer: Sendable, Hashable {
    /// An HTTP answer: its status, the PostgREST or SQLSTATE `code` of an error body, and the body.
    case answered(status: Int, code: String?, body: JSONValue?)
    /// No answer: connection refused, timed out, TLS failure.
    case unreachable(reason: String)

    /// Whether the call succeeded (2xx).
    var succeeded: Bool { if case .answered(let status, _, _) = self { (200..<300).contains(status) } else { false } }

    /// The status, when there was an answer.
    var status: Int? { if case .answered(let status, _, _) = self { status } else { nil } }

    /// The error code, when the answer carried one.
    var code: String? { if case .answered(_, let code, _) = self { code } else { nil } }

    /// A short description for a check's detail.
    var summary: String {
        switch self {
        case .answered(let status, let code, _): code.map { "HTTP \(status) (\($0))" } ?? "HTTP \(status)"
        case .unreachable(let reason): "no answer (\(reason))"
        }
    }
}

/// The kind of an API key, read from its shape alone (nothing is sent).
public enum APIKeyKind: Sendable, Hashable {
    /// A legacy JWT key carrying `role` (`service_role`, `anon`, …).
    case jwt(role: String?)
    /// A new secret key, `sb_secret_…`.
    case secret
    /// A new publishable key, `sb_publishable_…` (what a browser holds).
    case publishable
    /// Anything else (a local `serve` accepts any key when it has no JWT secret).
    case unrecognised

    /// Reads `key`'s kind.
    public init(_ key: String) {
        if key.hasPrefix("sb_secret_") {
            self = .secret
        } else if key.hasPrefix("sb_publishable_") {
            self = .publishable
        } else if let role = Self.jwtRole(key) {
            self = .jwt(role: role)
        } else {
            self = .unrecognised
        }
    }

    /// The `role` claim of a three-part JWT, `""` when it has none, nil when `key` is not a JWT.
    private static func jwtRole(_ key: String) -> String?? {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var payload = String(parts[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        payload += String(repeating: "=", count: (4 - payload.count % 4) % 4)
        guard let data = Data(base64Encoded: payload), let claims = try? JSONValue(parsing: data), case .object = claims else { return nil }
        return .some(claims["role"]?.stringValue)
    }
}

/// The verdicts of `matchmaker doctor`: pure functions from what the probes saw to checklist lines,
/// each with the fix for a failure. The probes (`SupabaseProbe`, `DatabaseProbe`) only gather answers.
public enum Diagnosis {
    /// The service key `SUPABASE_SERVICE_ROLE_KEY`: a secret key or a service-role JWT.
    public static func serviceKey(_ kind: APIKeyKind) -> DoctorCheck {
        let fix = "set SUPABASE_SERVICE_ROLE_KEY to the project's service_role key or a secret key (sb_secret_…)"
        return switch kind {
        case .secret: DoctorCheck("supabase.key", .pass, "a secret key (sb_secret_…)")
        case .jwt(role: "service_role"): DoctorCheck("supabase.key", .pass, "a legacy service_role JWT")
        case .jwt(let role): DoctorCheck("supabase.key", .fail, "a JWT with role \(role ?? "none"), not service_role", fix: fix)
        case .publishable: DoctorCheck("supabase.key", .fail, "a publishable key: it cannot lease the queue or write rooms", fix: fix)
        case .unrecognised:
            DoctorCheck("supabase.key", .warn, "not a Supabase key shape (fine for a local `matchmaker serve`)", fix: fix)
        }
    }

    /// The project answers the key: anything but no answer or 401/403.
    public static func connection(_ answer: ProbeAnswer, url: String) -> DoctorCheck {
        switch answer {
        case .unreachable:
            DoctorCheck(
                "supabase.url", .fail, "\(url) gave \(answer.summary)",
                fix: "check SUPABASE_URL (https://<ref>.supabase.co) and the network")
        case .answered(401, _, _), .answered(403, _, _):
            DoctorCheck(
                "supabase.url", .fail, "\(url) refused the key: \(answer.summary)", fix: "use this project's service_role or secret key")
        case .answered:
            DoctorCheck("supabase.url", .pass, "\(url) answers and accepts the key")
        }
    }

    /// `pgmq_public.read(queue, 0, 0)` (a read of nothing): the wrappers are exposed and the queue exists.
    public static func queue(_ answer: ProbeAnswer, name: String) -> DoctorCheck {
        if answer.succeeded { return DoctorCheck("supabase.queue", .pass, "pgmq_public is exposed and `\(name)` exists") }
        return switch answer.code {
        case "PGRST106", "PGRST202":
            DoctorCheck(
                "supabase.queue", .fail, "pgmq_public is not exposed through the API: \(answer.summary)",
                fix: "Dashboard → Integrations → Queues → expose queues via PostgREST (adds pgmq_public to the exposed schemas)")
        case "42P01", "P0001":
            DoctorCheck(
                "supabase.queue", .fail, "the queue `\(name)` does not exist: \(answer.summary)",
                fix: "apply deploy/supabase/migrations (it creates the queue), or select pgmq.create('\(name)')")
        default:
            DoctorCheck("supabase.queue", .fail, "reading `\(name)` failed: \(answer.summary)", fix: "check the queue and its grants")
        }
    }

    /// Our migrations' functions, probed in order: applied up to the last one present, with any gap named.
    public static func migrations(_ probes: [(migration: String, function: String, present: Bool)], scope: String) -> DoctorCheck {
        let missing = probes.filter { !$0.present }
        let fix = "apply deploy/supabase/migrations in order (supabase db push, or psql -f each file); they only add and may run twice"
        guard let last = probes.last(where: \.present) else {
            return DoctorCheck("\(scope).migrations", .fail, "none of the matchmaker's migrations is applied", fix: fix)
        }
        if missing.isEmpty { return DoctorCheck("\(scope).migrations", .pass, "applied up to \(last.migration)") }
        let names = missing.map { "\($0.migration) (\($0.function))" }.joined(separator: ", ")
        return DoctorCheck("\(scope).migrations", .fail, "applied up to \(last.migration), but missing \(names)", fix: fix)
    }

    /// The app server's enqueue as `anon`: `send` to a queue that does not exist is refused for lack of
    /// privilege (closed) or for the missing queue (open), and enqueues nothing either way.
    public static func anonEnqueue(_ answer: ProbeAnswer?) -> DoctorCheck {
        guard let answer else {
            return DoctorCheck(
                "supabase.anon_enqueue", .skip, "no SUPABASE_ANON_KEY given", fix: "set SUPABASE_ANON_KEY to check the app server's enqueue"
            )
        }
        if answer.code == "42501" || answer.status == 401 || answer.status == 403 {
            return DoctorCheck(
                "supabase.anon_enqueue", .warn, "anon cannot call pgmq_public.send: \(answer.summary)",
                fix: "the app server enqueues with the anon key: grant it back (see docs/switch-over.md) unless it now uses the service key"
            )
        }
        if case .unreachable = answer {
            return DoctorCheck("supabase.anon_enqueue", .fail, "the probe got \(answer.summary)", fix: "check SUPABASE_URL")
        }
        return DoctorCheck("supabase.anon_enqueue", .pass, "anon may call pgmq_public.send, as the app server does")
    }

    /// Whether a browser holding the anon key can read (and so drain) the queue.
    public static func anonRead(_ answer: ProbeAnswer?, queue: String) -> DoctorCheck {
        guard let answer else {
            return DoctorCheck("supabase.anon_read", .skip, "no SUPABASE_ANON_KEY given", fix: "set SUPABASE_ANON_KEY to check it")
        }
        if answer.succeeded {
            return DoctorCheck(
                "supabase.anon_read", .warn, "anon can read `\(queue)`: any browser can lease or drain it",
                fix: "optional hardening: psql -f deploy/supabase/hardening/close_queue_to_browsers.sql (send stays open)")
        }
        return DoctorCheck("supabase.anon_read", .pass, "anon cannot read the queue (\(answer.summary))")
    }

    /// Whether anon can read our `matchmaker_outbox` through the API (row-level security, or no grant).
    public static func anonOutbox(_ answer: ProbeAnswer?) -> DoctorCheck {
        guard let answer else {
            return DoctorCheck(
                "supabase.rls", .skip, "no SUPABASE_ANON_KEY given", fix: "set SUPABASE_ANON_KEY (or DATABASE_URL) to check it")
        }
        if case .answered(200, _, .array(let rows)?) = answer, !rows.isEmpty {
            return DoctorCheck(
                "supabase.rls", .fail, "anon can read matchmaker_outbox (\(rows.count) row(s))",
                fix: "apply the migrations: they enable row-level security on matchmaker_outbox")
        }
        if answer.succeeded {
            return DoctorCheck("supabase.rls", .pass, "anon reads no rows of matchmaker_outbox")
        }
        return DoctorCheck("supabase.rls", .pass, "anon cannot read matchmaker_outbox (\(answer.summary))")
    }

    /// A join on `global:lobby` within the connect timeout; `error` is why it failed.
    public static func realtimeJoin(error: String?) -> DoctorCheck {
        guard let error else { return DoctorCheck("realtime.join", .pass, "joined global:lobby and received its presence") }
        return DoctorCheck(
            "realtime.join", .fail, "joining global:lobby failed: \(error)",
            fix: "check that Realtime is enabled for the project and the key is accepted (wss://<ref>.supabase.co/realtime/v1)")
    }

    /// A REST broadcast to a probe topic: 202 is success.
    public static func broadcast(_ answer: ProbeAnswer) -> DoctorCheck {
        if answer.status == 202 { return DoctorCheck("realtime.broadcast", .pass, "a REST broadcast was accepted (202)") }
        return DoctorCheck(
            "realtime.broadcast", .fail, "a REST broadcast got \(answer.summary)",
            fix: "notifications go through /realtime/v1/api/broadcast: check the key and that Realtime is enabled")
    }

    /// The bot rows as the app's `user` table holds them: every column the bot service writes exists,
    /// and no bot row lacks what the app requires.
    public static func botRows(_ answer: ProbeAnswer) -> DoctorCheck {
        guard answer.succeeded else {
            let fix = "the app's `user` table must have the columns the bots write; apply the migrations (they add is_bot, bot_profile, …)"
            return DoctorCheck("supabase.bot_rows", .fail, "reading bot rows failed: \(answer.summary)", fix: fix)
        }
        guard case .answered(_, _, .array(let rows)?) = answer else {
            return DoctorCheck("supabase.bot_rows", .fail, "the answer was not a list of rows", fix: "check SUPABASE_URL")
        }
        let required = ["email", "email_verified", "created_at", "updated_at"]
        let incomplete = rows.filter { row in required.contains { (row[$0] ?? .null) == .null } }
        return botRows(scope: "supabase", total: rows.count, incomplete: incomplete.compactMap { $0["id"]?.stringValue })
    }

    /// Bot rows that lack `email`, `email_verified`, `created_at` or `updated_at` break the app (and its foreign keys).
    public static func botRows(scope: String, total: Int, incomplete: [String]) -> DoctorCheck {
        if incomplete.isEmpty {
            return DoctorCheck("\(scope).bot_rows", .pass, "\(total) bot row(s), all with email, email_verified, created_at, updated_at")
        }
        return DoctorCheck(
            "\(scope).bot_rows", .fail,
            "\(incomplete.count) of \(total) bot row(s) lack a required column (\(incomplete.prefix(5).joined(separator: ", ")))",
            fix: "start `matchmaker bots` once: it rewrites its rows complete; delete old rows nobody runs")
    }

    /// pg_cron jobs that still call the Edge Function on the project (`/functions/v1/stranger-matchmaker`
    /// on `projectHost` or any `*.supabase.co`); nil `jobs` means pg_cron is not installed.
    public static func cron(jobs: [(id: Int, command: String)]?, projectHost: String?) -> DoctorCheck {
        guard let jobs else { return DoctorCheck("database.cron", .pass, "pg_cron is not installed: nothing schedules the Edge Function") }
        let old = jobs.filter { job in
            job.command.contains("/functions/v1/stranger-matchmaker")
                && (job.command.contains(".supabase.co") || projectHost.map { job.command.contains($0) } ?? false)
        }
        if old.isEmpty { return DoctorCheck("database.cron", .pass, "no pg_cron job calls the old Edge Function") }
        let ids = old.map { String($0.id) }.joined(separator: ", ")
        return DoctorCheck(
            "database.cron", .fail, "pg_cron job(s) \(ids) still call the Edge Function: two matchers would double-match",
            fix: "select cron.unschedule(\(old[0].id)); then schedule the matchmaker (deploy/supabase/cron.sql) or rely on `serve`")
    }

    /// Messages read more than once whose lease has ended: a reader with visibility timeout 0 (the old
    /// Edge Function) is at work. Run before the matchmaker starts: its own passes release what they keep.
    public static func zeroLeaseReaders(count: Int, queue: String) -> DoctorCheck {
        if count == 0 { return DoctorCheck("database.vt_zero", .pass, "no message of `\(queue)` was read more than once without a lease") }
        return DoctorCheck(
            "database.vt_zero", .fail,
            "\(count) message(s) of `\(queue)` were read more than once and hold no lease: another process reads with visibility timeout 0",
            fix: "stop the old Edge Function and its trigger before starting the matchmaker")
    }

    /// Row-level security on the tables we add.
    public static func rowLevelSecurity(_ tables: [(name: String, enabled: Bool)]) -> DoctorCheck {
        let open = tables.filter { !$0.enabled }.map(\.name)
        if tables.isEmpty { return DoctorCheck("database.rls", .fail, "matchmaker_outbox does not exist", fix: "apply the migrations") }
        if open.isEmpty {
            return DoctorCheck("database.rls", .pass, "row-level security is on for \(tables.map(\.name).joined(separator: ", "))")
        }
        return DoctorCheck(
            "database.rls", .fail, "row-level security is off for \(open.joined(separator: ", ")): the anon key can read them",
            fix: "apply the migrations, or alter table public.<name> enable row level security")
    }

    /// The anon role's privileges on the queue wrappers, read from the catalog.
    public static func anonPrivileges(canSend: Bool, canRead: Bool, queue: String) -> [DoctorCheck] {
        let enqueue =
            canSend
            ? DoctorCheck("database.anon_enqueue", .pass, "anon may execute pgmq_public.send, as the app server does")
            : DoctorCheck(
                "database.anon_enqueue", .warn, "anon may not execute pgmq_public.send",
                fix:
                    "the app server enqueues with the anon key: grant execute on pgmq_public.send to anon, unless it now uses the service key"
            )
        let read =
            canRead
            ? DoctorCheck(
                "database.anon_read", .warn, "anon may execute pgmq_public.read: any browser can lease or drain `\(queue)`",
                fix: "optional hardening: psql -f deploy/supabase/hardening/close_queue_to_browsers.sql (send stays open)")
            : DoctorCheck("database.anon_read", .pass, "anon may not read the queue")
        return [enqueue, read]
    }
}
