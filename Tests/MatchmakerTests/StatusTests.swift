import Foundation
import Logging
import MatchmakerCore
import ServiceLifecycle
import Shared
import Synchronization
import TestSupport
import Testing

@Suite struct StatusTests {
    static var everything: OpsStatus {
        var bots = BotManager.Stats()
        (bots.target, bots.totalBots, bots.waiting, bots.inConversation) = (5, 4, 3, 1)
        var monitor = RealtimeMonitor.Snapshot()
        (monitor.activeConnections, monitor.failedConnections) = (2, 7)
        return OpsStatus(
            pool: RealtimeClient.Stats(sockets: 2, channelsPerSocket: [10, 3], joinsInFlight: 0, joinsAdmitted: 13),
            monitor: monitor, bots: bots, queue: QueueLevels(depth: 6, oldestAgeSeconds: 12.34), outboxBacklog: 1)
    }

    @Test func theLineNamesEveryPartWithItsNumbersAsMetadata() {
        let line = Self.everything.line
        #expect(
            line.message.description
                == "Status: pool 2 sockets, 13 channels; realtime 2 connections, 7 failures; "
                + "bots 4/5 running, 3 waiting, 1 in room; queue 6 messages, oldest 12.3 s; outbox 1 rows")
        #expect(
            line.metadata == [
                "pool.sockets": "2", "pool.channels": "13", "realtime.connections": "2", "realtime.failures": "7",
                "bots.target": "5", "bots.running": "4", "bots.waiting": "3", "bots.in_room": "1",
                "queue.depth": "6", "queue.oldest_age_seconds": "12.3", "outbox.backlog": "1",
            ])
    }

    @Test func partsThatAreAbsentAreLeftOut() {
        #expect(OpsStatus().line.message.description == "Status: nothing to report")
        #expect(OpsStatus().line.metadata.isEmpty)
        let queueOnly = OpsStatus(queue: QueueLevels(depth: 0, oldestAgeSeconds: 0)).line
        #expect(queueOnly.message.description == "Status: queue 0 messages, oldest 0.0 s")
        #expect(queueOnly.metadata == ["queue.depth": "0", "queue.oldest_age_seconds": "0.0"])
    }

    @Test(.timeLimit(.minutes(1)))
    func theServiceLogsALineAndSetsTheGaugesEveryInterval() async throws {
        let lines = Mutex<[String]>([])
        var logger = Logger(label: "status") { label in
            JSONLogHandler(label: label, now: { Date(timeIntervalSince1970: 0) }, sink: { line in lines.withLock { $0.append(line) } })
        }
        logger.logLevel = .info
        let exporter = PrometheusExporter()
        let samples = Mutex(0)
        let time = SteppedTime()
        let service = StatusService(
            interval: .milliseconds(1500), gauges: OpsGauges(factory: exporter.factory), time: time.timekeeper, logger: logger
        ) {
            var status = Self.everything
            status.queue?.depth = samples.withLock {
                $0 += 1
                return $0
            }
            return status
        }
        let group = ServiceGroup(services: [service], logger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var sleeps = time.sleeps.makeAsyncIterator()
            #expect(await sleeps.next() == .milliseconds(1500))
            #expect(lines.withLock { $0 }.isEmpty, "no line before the first interval")
            time.tick()
            #expect(await sleeps.next() == .milliseconds(1500))
            time.tick()
            #expect(await sleeps.next() == .milliseconds(1500))
            let logged = lines.withLock { $0 }
            #expect(logged.count == 2)
            let firstLine = try #require(logged.first)
            let first = try #require(try JSONSerialization.jsonObject(with: Data(firstLine.utf8)) as? [String: Any])
            #expect(first["level"] as? String == "info")
            #expect((first["message"] as? String)?.hasPrefix("Status: pool 2 sockets, 13 channels;") == true)
            #expect((first["metadata"] as? [String: String])?["queue.depth"] == "1")
            #expect(logged.last?.contains(#""queue.depth":"2""#) == true)
            let metrics = prometheusSamples(String(decoding: exporter.render(), as: UTF8.self))
            #expect(metrics["matchmaker_queue_depth_messages"] == 2)
            #expect(metrics["matchmaker_bots_running"] == 4)
            #expect(metrics["matchmaker_outbox_backlog_rows"] == 1)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
