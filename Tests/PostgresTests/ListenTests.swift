import EmbeddedSupabase
import Foundation
import MatchmakerCore
import PostgresNIO
import ServiceLifecycle
import Shared
import Synchronization
import TestSupport
import Testing

extension PostgresSuite {
    /// A pass runner and trigger on `stranger-queue` (the queue migration 06 puts the trigger on), degraded (no lobby).
    struct ListenHarness {
        let backend: PostgresBackend
        let notifier = EmbeddedNotifier()
        let runner: PassRunner
        let trigger: PassTrigger

        init(client: PostgresClient) {
            backend = PostgresBackend(client: client, queueName: "stranger-queue", logger: TestDatabase.logger)
            runner = PassRunner(
                pass: MatchPass(
                    ports: backend.ports(presence: EmbeddedPresence(.unavailable(reason: "test")), notifier: notifier),
                    settings: .init(), logger: TestDatabase.logger))
            trigger = PassTrigger(runner: runner, debounce: .milliseconds(30), logger: TestDatabase.logger)
        }
    }

    /// Enqueues as the app server does: `pgmq_public.send` as `anon`.
    static func sendAsAnon(_ users: [String], client: PostgresClient) async throws {
        try await client.withConnection { connection in
            try await connection.command("set role anon", logger: TestDatabase.logger)
            for user in users {
                let body = #"{"userId":"\#(user)"}"#
                try await connection.command("select pgmq_public.send('stranger-queue', \(body)::jsonb)", logger: TestDatabase.logger)
            }
            try await connection.command("reset role", logger: TestDatabase.logger)
        }
    }

    static func runServices(_ services: [any Service], _ body: @Sendable () async throws -> Void) async throws {
        let group = ServiceGroup(services: services, logger: TestDatabase.logger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// With no schedule at all, two users enqueued as the app does are paired: the queue's trigger notifies, the
    /// listener hears it, the trigger runs a pass.
    @Test(.timeLimit(.minutes(1)))
    func anEnqueueIsHeardThroughListenAndStartsAPass() async throws {
        let prefix = TestDatabase.uniquePrefix("lis")
        try await TestDatabase.withClient { client in
            try await client.createUsers(["\(prefix)a", "\(prefix)b"])
            try await client.command("select pgmq.purge_queue('stranger-queue')", logger: TestDatabase.logger)
            let harness = ListenHarness(client: client)
            let listener = QueueListener(
                configuration: try DatabaseURL(try TestDatabase.requireURL()).connectionConfiguration(), logger: TestDatabase.logger,
                signal: { [trigger = harness.trigger] in trigger.signal() })
            try await Self.runServices([harness.trigger, listener]) {
                // A new LISTEN signals once (an enqueue may have gone unheard): that pass finds the queue empty.
                try await eventually { listener.sessions == 1 && harness.runner.stats.snapshot.passes == 1 }
                try await Self.sendAsAnon(["\(prefix)a", "\(prefix)b"], client: client)
                try await eventually { harness.runner.stats.snapshot.rooms == 1 }
                #expect(harness.runner.stats.snapshot.passes == 2)
            }
            // The shutdown ended the LISTEN: no loss is counted or logged as a warning (it was, on every deploy).
            #expect(listener.losses == 0)
            #expect(harness.runner.stats.snapshot.lastReport?.rooms.first?.name == "\(prefix)a-\(prefix)b")
            #expect(try await client.count(#"select count(*) from pgmq."q_stranger-queue""#) == 0)
        }
    }

    /// The LISTEN connection is killed (`pg_terminate_backend`): while the listener waits out its backoff (on a
    /// manual clock, so it stays down), the schedule pairs new arrivals; then it reconnects and hears enqueues again.
    @Test(.timeLimit(.minutes(1)))
    func losingTheListenConnectionFallsBackToTheScheduleAndRecovers() async throws {
        let prefix = TestDatabase.uniquePrefix("lost")
        let (a, b, c) = ("\(prefix)a", "\(prefix)b", "\(prefix)c")
        try await TestDatabase.withClient { client in
            try await client.createUsers([a, b, c])
            try await client.command("select pgmq.purge_queue('stranger-queue')", logger: TestDatabase.logger)
            let harness = ListenHarness(client: client)
            let backoffClock = ManualTime()
            let signals = Mutex(0)
            let listener = QueueListener(
                configuration: try DatabaseURL(try TestDatabase.requireURL()).connectionConfiguration(), time: backoffClock.timekeeper,
                logger: TestDatabase.logger,
                signal: { [trigger = harness.trigger] in
                    signals.withLock { $0 += 1 }
                    trigger.signal()
                })
            let scheduler = MatchScheduler(runner: harness.runner, interval: .milliseconds(200), logger: TestDatabase.logger)
            try await Self.runServices([harness.trigger, listener, scheduler]) {
                try await eventually { listener.sessions == 1 && signals.withLock { $0 } == 1 }
                var backoffs = backoffClock.sleeps.makeAsyncIterator()
                let killed = try await client.count(
                    """
                    select count(pg_terminate_backend(pid)) from pg_stat_activity
                    where query ilike '%listen%matchmaker_enqueue%' and pid <> pg_backend_pid()
                    """)
                #expect(killed == 1)
                #expect(await backoffs.next() != nil, "the listener noticed and waits out its backoff")
                #expect(listener.losses == 1)
                try await Self.sendAsAnon([a, b], client: client)
                try await eventually { harness.runner.stats.snapshot.rooms == 1 }
                #expect(signals.withLock { $0 } == 1, "paired by the schedule: nobody listened")
                #expect(listener.sessions == 1)
                backoffClock.advance(by: .seconds(60))
                try await eventually { listener.sessions == 2 && signals.withLock { $0 } == 2 }
                try await Self.sendAsAnon([c], client: client)
                try await eventually { signals.withLock { $0 } == 3 }
            }
            #expect(harness.runner.stats.snapshot.lastReport != nil)
            try await client.command("select pgmq.purge_queue('stranger-queue')", logger: TestDatabase.logger)
        }
    }

    /// Migration 06 on the app's schema: the trigger is on the queue table once (the migrations ran twice), and
    /// browsers cannot execute its function.
    @Test func theEnqueueTriggerIsInstalledOnceAndClosedToBrowsers() async throws {
        try await TestDatabase.withClient { client in
            let triggers = try await client.count(
                """
                select count(*) from pg_trigger
                where tgrelid = 'pgmq."q_stranger-queue"'::regclass and tgname = 'matchmaker_enqueue_notify'
                """)
            #expect(triggers == 1)
            let browsers = try await client.count(
                """
                select count(*) from (values ('anon'), ('authenticated')) as r(role)
                where has_function_privilege(role, 'public.notify_stranger_enqueue()', 'execute')
                """)
            #expect(browsers == 0)
        }
    }
}
