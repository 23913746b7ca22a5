import AsyncHTTPClient
import EmbeddedSupabase
import Foundation
import HTTPTypes
import HummingbirdTesting
import MatchmakerCore
import Metrics
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Shared
import TestSupport
import Testing

/// A runner and its trigger over an embedded backend, all on one manual clock.
private struct TriggerHarness {
    let time = ManualTime()
    let backend: EmbeddedBackend
    let runner: PassRunner
    let trigger: PassTrigger

    init(botFillAfter: Double = 5) {
        backend = EmbeddedBackend(time: time.timekeeper)
        var settings = MatchPass.Settings()
        settings.attemptTimeout = nil
        settings.policy.botFillAfter = botFillAfter
        runner = PassRunner(
            pass: MatchPass(
                ports: backend.ports, settings: settings, time: time.timekeeper,
                metrics: MatchMetrics(factory: NOOPMetricsHandler.instance),
                logger: testLogger, unit: { 0.5 }))
        trigger = PassTrigger(runner: runner, debounce: .milliseconds(30), time: time.timekeeper, logger: testLogger)
        // The embedded backend's own hook, as `serve` installs it.
        _ = Backend.embedded(backend).eventSources { [trigger] in trigger.signal() }
    }

    func send(_ user: String) throws {
        _ = try backend.pgmq.send(backend.queueName, message: ["userId": .string(user)])
    }

    /// Runs `services` until `body` returns, then shuts them down.
    func running(_ services: [any Service], _ body: @Sendable () async throws -> Void) async throws {
        let group = ServiceGroup(services: services, logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

@Suite struct PassTriggerTests {
    /// An enqueue (the embedded pgmq's `send`) starts the debounce, and the pass runs when it ends.
    @Test(.timeLimit(.minutes(1)))
    func aPassFollowsAnEnqueueWithinTheDebounce() async throws {
        let harness = TriggerHarness()
        let start = harness.time.now
        try await harness.running([harness.trigger]) {
            var sleeps = harness.time.sleeps.makeAsyncIterator()
            try harness.send("alice")
            try harness.send("bob")
            #expect(await sleeps.next() == .milliseconds(30), "the enqueue starts the debounce")
            #expect(harness.runner.stats.snapshot.passes == 0, "no pass before the debounce ends")
            harness.time.advance(by: .milliseconds(30))
            try await eventually { harness.runner.stats.snapshot.passes == 1 }
            let room = try #require(harness.backend.store.contents.rooms.values.first)
            #expect(room.name == "alice-bob")
            #expect(abs(room.createdAt.timeIntervalSince(start) - 0.03) < 1e-6, "paired at the end of the debounce")
        }
    }

    /// A lone human is offered a waiting bot at `BOT_FILL_AFTER` exactly: the pass after the enqueue keeps them and
    /// reports when they become eligible, and the trigger runs a pass then, long before the next interval (2 s).
    @Test(.timeLimit(.minutes(1)))
    func aLoneHumanMeetsABotAtBotFillAfterNotAtTheNextInterval() async throws {
        let harness = TriggerHarness(botFillAfter: 0.5)
        let arrived = harness.time.now
        let backend = harness.backend
        backend.store.addBot("bot-a")
        _ = try backend.pgmq.insert(backend.queueName, message: ["userId": "bot-a"], enqueuedAt: arrived.addingTimeInterval(-20))
        backend.presence.set(.available(["bot-a": [["status": "waiting", "user_id": "bot-a"]], "hugo": [["status": "waiting"]]]))
        let scheduler = MatchScheduler(runner: harness.runner, interval: .seconds(2), time: harness.time.timekeeper, logger: testLogger)
        try await harness.running([scheduler, harness.trigger]) {
            var sleeps = harness.time.sleeps.makeAsyncIterator()
            try harness.send("hugo")
            // The scheduler's 2 s and the trigger's debounce, in either order.
            var announced: Set<Duration> = []
            while announced.count < 2, let sleep = await sleeps.next() { announced.insert(sleep) }
            #expect(announced == [.seconds(2), .milliseconds(30)])
            harness.time.advance(by: .milliseconds(30))
            #expect(await sleeps.next() == .milliseconds(470), "the trigger sleeps until hugo is eligible")
            #expect(harness.runner.stats.snapshot.passes == 1)
            #expect(harness.runner.stats.snapshot.lastReport?.botFillDueAt == arrived.addingTimeInterval(0.5))
            #expect(backend.store.contents.rooms.isEmpty, "not paired before BOT_FILL_AFTER")
            harness.time.advance(by: .milliseconds(470))
            try await eventually { harness.runner.stats.snapshot.rooms == 1 }
        }
        #expect(harness.runner.stats.snapshot.passes == 2, "the scheduled pass (2 s) never came")
        let room = try #require(backend.store.contents.rooms.values.first)
        #expect(room.name == "bot-a-hugo")
        #expect(abs(room.createdAt.timeIntervalSince(arrived) - 0.5) < 1e-6, "waited \(room.createdAt.timeIntervalSince(arrived)) s")
        #expect(backend.notifier.log.map(\.userID).sorted() == ["bot-a", "hugo"])
    }
}

@Suite struct EventPassesOverHTTPTests {
    let function = "/functions/v1/stranger-matchmaker"

    func send(_ user: String, on client: some TestClientProtocol) async throws {
        let response = try await client.execute(
            uri: "/rest/v1/rpc/send", method: .post, headers: rpcHeaders,
            body: jsonBody(#"{"queue_name":"stranger-queue","message":{"userId":"\#(user)"}}"#))
        #expect(response.status == .ok)
    }

    /// `serve` with its defaults (events on) pairs two users enqueued through the REST RPC without a function call
    /// or a scheduled pass (the schedule is an hour).
    @Test(.timeLimit(.minutes(1)))
    func anEnqueueOverRESTStartsAPass() async throws {
        try await withLiveApp(configure: { $0.matchOnEvents = true }) { client, app in
            try await send("alice", on: client)
            try await send("bob", on: client)
            try await eventually { app.parts.runner.stats.snapshot.rooms == 1 }
            #expect(app.backend.notifier.log.map(\.userID).sorted() == ["alice", "bob"])
        }
    }

    /// A burst of 100 enqueues over REST, all within one debounce, is served by one pass.
    @Test(.timeLimit(.minutes(1)))
    func aBurstOfEnqueuesMakesOnePass() async throws {
        let time = ManualTime()
        try await withLiveApp(
            backend: EmbeddedBackend(time: time.timekeeper), time: time.timekeeper, configure: { $0.matchOnEvents = true }
        ) {
            client, app in
            var sleeps = time.sleeps.makeAsyncIterator()
            for index in 0..<100 { try await send("u\(index)", on: client) }
            // The scheduler's hour and the trigger's debounce, in either order.
            var announced: Set<Duration> = []
            while announced.count < 2, let sleep = await sleeps.next() { announced.insert(sleep) }
            #expect(announced == [.seconds(3600), .milliseconds(30)])
            time.advance(by: .milliseconds(30))
            try await eventually { app.parts.runner.stats.snapshot.rooms == 50 }
            #expect(app.parts.runner.stats.snapshot.passes == 1, "one pass for the whole burst")
        }
    }

    /// Over `MATCH_MAX_WAITING_CALLERS` waiting calls, the function answers 503 with `Retry-After` and CORS; the calls
    /// that waited get the next pass.
    @Test(.timeLimit(.minutes(1)))
    func beyondTheWaiterCapTheFunctionAnswers503() async throws {
        let time = ManualTime()
        let backend = EmbeddedBackend(time: time.timekeeper)
        _ = try backend.pgmq.send(backend.queueName, message: ["userId": "alice"])
        _ = try backend.pgmq.send(backend.queueName, message: ["userId": "bob"])
        // Alice's first notification fails: the pass waits out its retry delay on the manual clock.
        backend.faults.script(.notify(user: "alice"), [.error, .ok])
        try await withLiveApp(
            backend: backend, time: time.timekeeper,
            configure: {
                $0.maxWaitingCallers = 1
                $0.pass.attemptTimeout = nil
            }
        ) { client, app in
            // Each call on a connection of its own (the test client has one), as concurrent browsers would.
            let url = "http://127.0.0.1:\(try #require(client.port))\(function)"
            @Sendable func call() async throws -> (status: Int, headers: HTTPHeaders, body: JSONValue?) {
                var request = HTTPClientRequest(url: url)
                request.method = .POST
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
                let body = try await response.body.collect(upTo: 1 << 20)
                return (
                    Int(response.status.code), response.headers,
                    try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView))
                )
            }
            try await withThrowingTaskGroup(of: (status: Int, headers: HTTPHeaders, body: JSONValue?).self) { calls in
                var sleeps = time.sleeps.makeAsyncIterator()
                calls.addTask { try await call() }
                while let sleep = await sleeps.next(), sleep == .seconds(3600) {}
                // The first call's pass is parked in a retry delay; the second call waits for the next pass.
                calls.addTask { try await call() }
                try await eventually { app.parts.runner.waiting == 1 }
                let refused = try await call()
                #expect(refused.status == 503)
                #expect(refused.headers["Retry-After"] == ["1"])
                #expect(refused.headers["Access-Control-Allow-Origin"] == ["*"])
                #expect(refused.body?["success"] == false)
                #expect(refused.body?["error"] == "Matchmaker busy")
                time.advance(by: .seconds(10))
                var answers: [(status: Int, headers: HTTPHeaders, body: JSONValue?)] = []
                for try await answer in calls { answers.append(answer) }
                #expect(answers.map(\.status) == [200, 200])
                #expect(Set(answers.compactMap { $0.body?["stats"]?["pairedRooms"] }) == [1, 0], "the first pass paired them")
            }
            #expect(app.parts.runner.stats.snapshot.passes == 2)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.text.contains("matchmaker_busy_refusals_total 1"))
        }
    }
}
