import EmbeddedSupabase
import Foundation
import MatchmakerCore
import PostgresNIO
import Shared
import Testing

/// Our migrations on top of the app's database as a live project has it (`Tests/sql/app-schema.sql`): they only
/// add, the app's anon-key enqueue keeps working, our objects are closed to browsers, the opt-in hardening closes
/// the queue, and the bots' rows fit the app's `user` table (docs/contract.md §6a, §8).
extension PostgresSuite {
    /// The statements a browser (or anyone) might try on the queue, by label.
    static let queueProbes: [(String, String)] = [
        ("send", #"select pgmq_public.send('stranger-queue', '{"userId":"u1","continent":"Europe"}'::jsonb)"#),
        ("send_batch", #"select pgmq_public.send_batch('stranger-queue', array['{"userId":"u2"}']::jsonb[])"#),
        ("read", "select pgmq_public.read('stranger-queue', 0, 1)"),
        ("pop", "select pgmq_public.pop('stranger-queue')"),
        ("delete", "select pgmq_public.delete('stranger-queue', 1)"),
        ("archive", "select pgmq_public.archive('stranger-queue', 1)"),
        ("pgmq.read", "select pgmq.read('stranger-queue', 0, 1)"),
        ("queue table", #"select message from pgmq."q_stranger-queue""#),
    ]

    /// `role|label|outcome` lines for `probes` run as each of `roles`.
    static func probing(_ probes: [(String, String)], as roles: [String]) -> String {
        roles.flatMap { role in
            ["set role \(role);"] + probes.map { "select '\(role)', '\($0.0)', probe.outcome($probe$\($0.1)$probe$);" } + ["reset role;"]
        }.joined(separator: "\n")
    }

    /// The expected lines for `probing`: `ok` unless `outcomes` says otherwise.
    static func expected(_ probes: [(String, String)], as role: String, _ outcomes: [String: String] = [:]) -> [String] {
        probes.map { "\(role)|\($0.0)|\(outcomes[$0.0] ?? "ok")" }
    }

    @Test func theAppSchemaFixtureHoldsTheAppsConstraints() throws {
        let rows = try TestDatabase.rolledBack(
            TestDatabase.probe + """
                select rolname, rolbypassrls from pg_roles where rolname in ('anon', 'authenticated', 'service_role') order by 1;
                insert into public."user" (id, name, email, email_verified, created_at, updated_at)
                values ('fx-a', 'A', 'same@test.invalid', false, now(), now());
                select 'no email_verified', probe.outcome($$insert into public."user" (id, name, email, created_at, updated_at)
                    values ('fx-b', 'B', 'b@test.invalid', now(), now())$$);
                select 'no created_at', probe.outcome($$insert into public."user" (id, name, email, email_verified, updated_at)
                    values ('fx-b', 'B', 'b@test.invalid', false, now())$$);
                select 'no updated_at', probe.outcome($$insert into public."user" (id, name, email, email_verified, created_at)
                    values ('fx-b', 'B', 'b@test.invalid', false, now())$$);
                select 'same email', probe.outcome($$insert into public."user" (id, name, email, email_verified, created_at, updated_at)
                    values ('fx-b', 'B', 'same@test.invalid', false, now(), now())$$);
                select 'owner unknown', probe.outcome($$insert into public.room (id, name, owner_id) values ('fx-r0', 'x', 'nobody')$$);
                insert into public.room (id, name, owner_id) values ('fx-r1', 'x', 'fx-a');
                select 'member unknown', probe.outcome($$insert into public.room_member (room_id, user_id) values ('fx-r1', 'nobody')$$);
                insert into public.room_member (room_id, user_id) values ('fx-r1', 'fx-a');
                insert into public.message (id, room_id, sender_id, content) values ('fx-m1', 'fx-r1', 'fx-a', 'hi');
                delete from public.room where id = 'fx-r1';
                select 'cascade', count(*) from public.room_member where room_id = 'fx-r1';
                select 'cascade', count(*) from public.message where room_id = 'fx-r1';
                """)
        #expect(
            rows == [
                "anon|f", "authenticated|f", "service_role|t",
                "no email_verified|23502", "no created_at|23502", "no updated_at|23502", "same email|23505",
                "owner unknown|23503", "member unknown|23503", "cascade|0", "cascade|0",
            ])
    }

    /// What the embedded backend refuses since issue 16 (`Tests/MatchmakerTests/FidelityTests.swift` asserts the same
    /// SQLSTATEs over PostgREST), asked of PostgreSQL with the app's schema: both answer alike.
    @Test func theEmbeddedBackendsRefusalsAreTheDatabases() throws {
        let long = String(repeating: "r", count: 25)
        let padded = String(repeating: "p", count: 24) + "   "
        let rows = try TestDatabase.rolledBack(
            TestDatabase.probe + """
                insert into public."user" (id, name, email, email_verified, created_at, updated_at)
                values ('fd-u1', 'A', 'fd-u1@test.invalid', false, now(), now()), ('fd-u2', 'B', 'fd-u2@test.invalid', false, now(), now());
                select 'message into nope', probe.outcome($$insert into public.message (id, room_id, sender_id, content)
                    values ('fd-m0', 'nope', 'fd-u1', 'hi')$$);
                select 'room id of 25', probe.outcome($$insert into public.room (id, name, owner_id) values ('\(long)', 'x', 'fd-u1')$$);
                select 'room id padded', probe.outcome($$insert into public.room (id, name, owner_id) values ('\(padded)', 'x', 'fd-u1')$$);
                select 'padded length', length(id) from public.room where id like 'ppp%';
                insert into public.room (id, name, owner_id) values ('fd-r1', 'x', 'fd-u1');
                insert into public.bot_analytics (id, bot_id, conversation_id, messages_exchanged, conversation_duration,
                    human_skipped, bot_skipped) values ('fd-a1', 'fd-u2', 'fd-r1', 1, 2, false, true);
                select 'room with analytics', probe.outcome($$delete from public.room where id = 'fd-r1'$$);
                select 'owner re-keyed', probe.outcome($$update public."user" set id = 'fd-u9' where id = 'fd-u1'$$);
                select 'NUL in a row', probe.outcome($$select json_populate_record(null::public."user", '{"name":"a\\u0000b"}')$$);
                select 'NUL in a message', probe.outcome($$select pgmq_public.send('stranger-queue', '{"userId":"a\\u0000"}'::jsonb)$$);
                select 'date only', '2020-01-01'::timestamptz < '2026-12-03T08:00:00.0000001Z'::timestamptz;
                select 'rounded', '2026-12-03T08:00:00.0000001Z'::timestamptz = '2026-12-03T08:00:00Z'::timestamptz;
                select 'no zone is UTC', '2026-12-03T10:00:00'::timestamptz = '2026-12-03T12:00:00+02:00'::timestamptz;
                select 'notadate', probe.outcome($$select 'notadate'::timestamptz$$);
                select 'junk', probe.outcome($$select '2026-12-03T10:00:00Zjunk'::timestamptz$$);
                select 'month 13', probe.outcome($$select '2026-13-01'::timestamptz$$);
                select 'February 29', probe.outcome($$select '2026-02-29'::timestamptz$$);
                select 'hour 25', probe.outcome($$select '2026-12-03T25:00:00'::timestamptz$$);
                """)
        #expect(
            rows == [
                "message into nope|23503", "room id of 25|22001", "room id padded|ok", "padded length|24",
                "room with analytics|23503", "owner re-keyed|23503", "NUL in a row|22P05", "NUL in a message|22P05",
                "date only|t", "rounded|t", "no zone is UTC|t", "notadate|22007", "junk|22007", "month 13|22008",
                "February 29|22008", "hour 25|22008",
            ])
    }

    @Test func theAppEnqueuesAsAnonAfterOurMigrationsAndSupabasesQueueGrantsAreUntouched() throws {
        // A mark on each of Supabase's wrappers that `create or replace` would wipe (it resets a function's settings).
        let wrappers = [
            "pgmq_public.send(text, jsonb, integer)", "pgmq_public.send_batch(text, jsonb[], integer)",
            "pgmq_public.read(text, integer, integer)", "pgmq_public.pop(text)", "pgmq_public.archive(text, bigint)",
            "pgmq_public.delete(text, bigint)",
        ]
        let marks = wrappers.map { "alter function \($0) set work_mem = '1111kB';" }.joined(separator: "\n")
        let migrations = (TestDatabase.migrations + TestDatabase.migrations).map { "\\i \($0.path)" }.joined(separator: "\n")
        let kept = wrappers.map { signature in
            """
            select '\(signature)', 'work_mem=1111kB' = any(proconfig), not prosecdef,
                has_function_privilege('anon', '\(signature)', 'execute'),
                has_function_privilege('authenticated', '\(signature)', 'execute')
            from pg_proc where oid = '\(signature)'::regprocedure;
            """
        }.joined(separator: "\n")
        let rows = try TestDatabase.rolledBack(
            TestDatabase.probe + marks + "\n" + migrations + "\n" + kept + "\n" + """
                select 'queue table', bool_and(has_table_privilege(role, 'pgmq."q_stranger-queue"', privilege))
                from unnest(array['anon', 'authenticated']) as role, unnest(array['select', 'insert', 'update', 'delete']) as privilege;
                """ + "\n" + Self.probing(Self.queueProbes, as: ["anon", "authenticated", "service_role"]))
        #expect(Array(rows.prefix(wrappers.count + 1)) == wrappers.map { "\($0)|t|t|t|t" } + ["queue table|t"])
        #expect(
            Array(rows.dropFirst(wrappers.count + 1))
                == Self.expected(Self.queueProbes, as: "anon") + Self.expected(Self.queueProbes, as: "authenticated")
                + Self.expected(Self.queueProbes, as: "service_role"),
            "as a live project has it: nothing closed until the owner opts in")
    }

    @Test func closingTheQueueToBrowsersKeepsTheAppsEnqueueAndStopsEverythingElse() throws {
        let hardening = TestDatabase.root.appendingPathComponent("deploy/supabase/hardening/close_queue_to_browsers.sql").path
        let rows = try TestDatabase.rolledBack(
            TestDatabase.probe + "\n\\i \(hardening)\n\\i \(hardening)\n"
                + Self.probing(Self.queueProbes, as: ["anon", "authenticated", "service_role"]))
        let closed = [
            "read": "42501", "pop": "42501", "delete": "42501", "archive": "42501", "pgmq.read": "42501", "queue table": "42501",
        ]
        #expect(
            rows
                == Self.expected(Self.queueProbes, as: "anon", closed) + Self.expected(Self.queueProbes, as: "authenticated", closed)
                + Self.expected(Self.queueProbes, as: "service_role"))
    }

    /// Issue 16: `NOTIFY_PRIVATE` needs Realtime authorization. Realtime decides a private join by reading probe rows
    /// of `realtime.messages` (topic = the channel's) under the client's role and claims, and a client's send by
    /// inserting one; this replays both as Realtime does, with the project's own policies beside ours (one lets
    /// any signed-in user send anywhere, one lets them read `room:` topics).
    @Test func privateUserChannelsLetAUserReceiveOnlyTheirOwnAndOnlyTheServiceRoleSend() throws {
        let hardening = TestDatabase.root.appendingPathComponent("deploy/supabase/hardening/private_user_channels.sql").path
        let rows = try TestDatabase.rolledBack(
            TestDatabase.probe + """

                \\i \(hardening)
                \\i \(hardening)
                create policy app_send_anywhere on realtime.messages for insert to authenticated with check (true);
                create policy app_read_rooms on realtime.messages for select to authenticated using (topic like 'room:%');
                insert into realtime.messages (id, topic, extension) values
                    ('00000000-0000-0000-0000-00000000000a', 'user:alice', 'broadcast'),
                    ('00000000-0000-0000-0000-00000000000b', 'user:bob', 'broadcast'),
                    ('00000000-0000-0000-0000-00000000000c', 'user:alice', 'presence'),
                    ('00000000-0000-0000-0000-00000000000d', 'room:1', 'broadcast');
                \(Self.realtimeProbes(role: "authenticated", sub: "alice"))
                \(Self.realtimeProbes(role: "anon", sub: nil))
                \(Self.realtimeProbes(role: "service_role", sub: nil))
                """)
        #expect(
            rows == [
                "authenticated|receive user:alice|1", "authenticated|receive user:bob|0", "authenticated|receive presence|0",
                "authenticated|receive room:1|1", "authenticated|send user:alice|42501", "authenticated|send user:bob|42501",
                "authenticated|send room:1|ok",
                "anon|receive user:alice|0", "anon|receive user:bob|0", "anon|receive presence|0", "anon|receive room:1|0",
                "anon|send user:alice|42501", "anon|send user:bob|42501", "anon|send room:1|42501",
                "service_role|receive user:alice|1", "service_role|receive user:bob|1", "service_role|receive presence|1",
                "service_role|receive room:1|1", "service_role|send user:alice|ok", "service_role|send user:bob|ok",
                "service_role|send room:1|ok",
            ])
    }

    /// Realtime's checks as `role` with the claim `sub`: a receive reads a probe row by id, a send inserts one.
    static func realtimeProbes(role: String, sub: String?) -> String {
        let claims = sub.map { #"{"sub":"\#($0)","role":"\#(role)"}"# } ?? #"{"role":"\#(role)"}"#
        let receives = [("user:alice", "a"), ("user:bob", "b"), ("presence", "c"), ("room:1", "d")].map { label, id in
            "select '\(role)', 'receive \(label)', count(*) from realtime.messages where id = '00000000-0000-0000-0000-00000000000\(id)';"
        }
        let sends = ["user:alice", "user:bob", "room:1"].map { topic in
            "select '\(role)', 'send \(topic)', probe.outcome($probe$insert into realtime.messages (topic, extension) values ('\(topic)', 'broadcast')$probe$);"
        }
        return (["set local role \(role);", "set local request.jwt.claims = '\(claims)';"] + receives + sends + ["reset role;"])
            .joined(separator: "\n")
    }

    /// The outbox, the bot registry and our RPCs (migrations 03 to 08).
    @Test func ourOutboxAndRPCsAreClosedToBrowsersAndOpenToTheServiceRole() throws {
        let probes: [(String, String)] = [
            ("outbox select", "select count(*) from public.matchmaker_outbox"),
            (
                "outbox insert",
                "insert into public.matchmaker_outbox (room_id, queue_name, room, users, messages, claimed_until) "
                    + "values ('x', 'q', '{}', '{}', '[]', now())"
            ),
            ("create_stranger_room", "select public.create_stranger_room('probe-room', 'nobody-a', 'nobody-b')"),
            ("commit_stranger_match", "select public.commit_stranger_match('stranger-queue', 'probe-room', 'nobody-a', 'nobody-b', '{}')"),
            ("ack_stranger_match", "select public.ack_stranger_match('probe-room')"),
            ("delete_stranger_room", "select public.delete_stranger_room('probe-room')"),
            ("claim_stranger_matches", "select public.claim_stranger_matches()"),
            ("release_stranger_messages", "select public.release_stranger_messages('stranger-queue', '{}', now())"),
            ("drop_stranger_messages", "select public.drop_stranger_messages('stranger-queue', '{-1}', true)"),
            ("registry select", "select count(*) from public.matchmaker_bot"),
            (
                "registry insert",
                "insert into public.matchmaker_bot (bot_id, owner, lease_until) values ('probe-bot', 'probe-owner', now())"
            ),
            ("lease_bots", "select public.lease_bots('probe-owner', '{}', 30)"),
            ("ready_bots", "select public.ready_bots('probe-owner', '{probe-bot}')"),
            ("idle_bots", "select public.idle_bots(0)"),
        ]
        let rows = try TestDatabase.rolledBack(
            TestDatabase.probe + """
                select 'outbox', relrowsecurity, (select count(*) from pg_policies where tablename = 'matchmaker_outbox')
                from pg_class where oid = 'public.matchmaker_outbox'::regclass;
                select 'registry', relrowsecurity, (select count(*) from pg_policies where tablename = 'matchmaker_bot')
                from pg_class where oid = 'public.matchmaker_bot'::regclass;
                select 'registry functions', role,
                    string_agg(case when has_function_privilege(role, f, 'execute') then 'x' else '-' end, '' order by f)
                from unnest(array['anon', 'authenticated', 'service_role']) role,
                    unnest(array['public.lease_bots(text, text[], integer)', 'public.ready_bots(text, text[], integer, varchar)',
                        'public.idle_bots(integer)']) f
                group by role order by role;
                """ + "\n" + Self.probing(probes, as: ["anon", "authenticated", "service_role"]))
        let denied = Dictionary(uniqueKeysWithValues: probes.map { ($0.0, "42501") })
        #expect(
            rows
                == [
                    "outbox|t|0", "registry|t|0", "registry functions|anon|---", "registry functions|authenticated|---",
                    "registry functions|service_role|xxx",
                ] + Self.expected(probes, as: "anon", denied)
                + Self.expected(probes, as: "authenticated", denied)
                + Self.expected(
                    probes, as: "service_role",
                    // Allowed, and then refused by the data: the outbox row's room and the room's owner do not exist.
                    ["outbox insert": "23503", "create_stranger_room": "23503", "commit_stranger_match": "MM001"]))
    }

    @Test func rowLevelSecurityHidesTheOutboxEvenFromABrowserGivenTheTable() async throws {
        let prefix = TestDatabase.uniquePrefix("rls")
        try await TestDatabase.withClient { client in _ = try await Self.abandonedMatch(client, prefix: prefix) }
        // Supabase's default privileges would grant a new table to anon; our revoke is undone here to test RLS alone.
        let rows = try TestDatabase.rolledBack(
            """
            grant select on public.matchmaker_outbox to anon;
            set role anon;
            select 'anon', count(*) from public.matchmaker_outbox;
            reset role;
            set role service_role;
            select 'service_role', count(*) > 0 from public.matchmaker_outbox where users[1] = '\(prefix)a';
            reset role;
            """)
        #expect(rows == ["anon|0", "service_role|t"])
    }

    @Test func aBotRowAsTheBotServiceWritesItIsAcceptedByTheAppsUserTable() throws {
        let identity = BotIdentity(slot: 3)
        let first = Date(timeIntervalSince1970: 1_800_000_000)
        let restart = first.addingTimeInterval(3600)
        /// What PostgREST runs for the bot's `POST …?on_conflict=id` (ignore-duplicates) and its `PATCH …?id=eq.<id>`.
        func upsert(_ now: Date) throws -> String {
            guard case .object(let row) = identity.userRow(now: now) else { throw TestSetupError(message: "not an object") }
            let insert = row.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            let update = identity.userUpdate(now: now).keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            return """
                insert into public."user" (\(insert))
                select \(insert) from jsonb_populate_record(null::public."user", $json$\(try JSONCoding.string(JSONValue.object(row)))$json$)
                on conflict (id) do nothing;
                update public."user" set (\(update)) = (
                    select \(update) from jsonb_populate_record(
                        null::public."user", $json$\(try JSONCoding.string(JSONValue.object(identity.userUpdate(now: now))))$json$)
                ) where id = '\(identity.id)';
                """
        }
        let stamp = { (date: Date) in "'\(BotIdentity.localTimestamp(date))'::timestamp" }
        // What this service wrote before issue 10: `email_verified` false and no `created_at`.
        var before = identity.userUpdate(now: first)
        before["email_verified"] = false
        let rows = try TestDatabase.rolledBack(
            TestDatabase.probe + """
                set role service_role;
                \(try upsert(first))
                select 'first', email, email_verified, is_bot, is_anonymous, bot_profile is not null,
                    created_at = \(stamp(first)), updated_at = \(stamp(first)), last_active = \(stamp(first))
                from public."user" where id = '\(identity.id)';
                \(try upsert(restart))
                select 'restart', count(*), bool_and(created_at = \(stamp(first))), bool_and(updated_at = \(stamp(restart))),
                    bool_and(last_active = \(stamp(restart)))
                from public."user" where id = '\(identity.id)';
                select 'row before issue 10', probe.outcome($probe$
                    insert into public."user" select * from jsonb_populate_record(
                        null::public."user", $json$\(try JSONCoding.string(JSONValue.object(before)))$json$)
                    on conflict (id) do nothing
                $probe$);
                """)
        #expect(
            rows == [
                "first|bot-humorous-jordan-3@bot.internal|t|t|t|t|t|t|t", "restart|1|t|t|t", "row before issue 10|23502",
            ])
    }

    @Test func twoAppUsersEnqueuedAsAnonArePairedIntoTheAppsRoomTables() async throws {
        let prefix = TestDatabase.uniquePrefix("app")
        let (a, b) = ("\(prefix)a", "\(prefix)b")
        try await TestDatabase.withClient { client in
            try await client.createUsers([a, b])
            try await client.command("select pgmq.purge_queue('stranger-queue')", logger: TestDatabase.logger)
            try await client.withConnection { connection in
                // The app server's enqueue: `pgmq_public.send` with the anon key.
                try await connection.command("set role anon", logger: TestDatabase.logger)
                for user in [a, b] {
                    let body = #"{"userId":"\#(user)","continent":"Europe"}"#
                    try await connection.command(
                        "select pgmq_public.send('stranger-queue', \(body)::jsonb)", logger: TestDatabase.logger)
                }
                try await connection.command("reset role", logger: TestDatabase.logger)
            }
            let backend = PostgresBackend(client: client, queueName: "stranger-queue", logger: TestDatabase.logger)
            let notifier = EmbeddedNotifier()
            let report = try await MatchPass(
                ports: backend.ports(presence: EmbeddedPresence(.unavailable(reason: "test")), notifier: notifier),
                settings: .init(), logger: TestDatabase.logger
            ).run()
            #expect(report.pairedRooms == 1)
            let room = try #require(report.rooms.first)
            #expect(room.ownerID == a && room.name == "\(a)-\(b)")
            #expect(
                try await client.count(
                    "select count(*) from public.room where id = \(room.id) and \"isDM\" and not is_locked and owner_id = \(a)") == 1)
            #expect(try await client.count("select count(*) from public.room_member where room_id = \(room.id)") == 2)
            #expect(try await client.count(#"select count(*) from pgmq."q_stranger-queue""#) == 0)
            #expect(try await client.count("select count(*) from public.matchmaker_outbox where room_id = \(room.id)") == 0)
            #expect(Set(notifier.log.map(\.userID)) == [a, b])
        }
    }
}
