import EmbeddedSupabase
import Foundation
import MatchmakerCore
import Shared
import TestSupport
import Testing

/// The socket keeps the deadlines its channel's state machine sets, on a clock only the test moves.
@Suite(.timeLimit(.minutes(1))) struct JoinDeadlineTests {
    @Test func anUnansweredJoinTimesOutAtTheMachinesDeadlineAndIsRetriedAtTheInstantItChose() async throws {
        try await withLiveServer { port, backend in
            backend.hub.faults.ignoreJoins(true)
            let time = ManualTime()
            let started = time.now
            let backoff = Backoff(maxRetries: 1, baseDelay: .seconds(3), maxDelay: .seconds(30))
            let delay = backoff.delay(attempt: 1, unit: 0.5)
            let observations = backend.hub.observe()
            try await withClient(
                port: port, version: .v2, time: time.timekeeper, unit: { 0.5 },
                configure: {
                    $0.connectTimeout = .seconds(5)
                    $0.channelBackoff = backoff
                    $0.heartbeatInterval = .seconds(1000)
                }
            ) { client in
                var joins = observations.filter { if case .joinReceived = $0 { true } else { false } }.makeAsyncIterator()
                var sleeps = time.sleeps.filter { $0 != .seconds(1000) }.makeAsyncIterator()
                let channel = await client.channel("deadlines")
                try await withThrowingTaskGroup(of: RealtimeError?.self) { group in
                    group.addTask { try await channel.subscriptionError() }

                    _ = await joins.next()
                    guard case .joining(_, let firstDeadline) = channel.machine.state else {
                        Issue.record("the first attempt is not in flight: \(channel.machine.state)")
                        return
                    }
                    #expect(firstDeadline == started.addingTimeInterval(5))
                    #expect(await sleeps.next() == .seconds(5))
                    time.advance(by: .seconds(5))

                    // The retry wait is announced after the machine decided it.
                    #expect(await sleeps.next() == delay)
                    let retryAt = firstDeadline.addingTimeInterval(delay.seconds)
                    #expect(channel.machine.state == .errored(retryAt: retryAt))
                    #expect(channel.machine.failures == 1)
                    time.advance(by: delay)

                    _ = await joins.next()
                    guard case .joining(_, let secondDeadline) = channel.machine.state else {
                        Issue.record("the retry is not in flight: \(channel.machine.state)")
                        return
                    }
                    #expect(secondDeadline == retryAt.addingTimeInterval(5))
                    #expect(await sleeps.next() == .seconds(5))
                    time.advance(by: .seconds(5))

                    let error = try await group.next()!
                    #expect(error?.kind == .gaveUp)
                    #expect(error?.reason.contains("retries exhausted after 2 attempt(s)") == true)
                    #expect(error?.reason.contains("took over 5.0 seconds") == true)
                }
                #expect(time.now == started.addingTimeInterval(5).addingTimeInterval(delay.seconds).addingTimeInterval(5))
                #expect(backend.hub.joinsReceived == 2)
                #expect(client.stats().channels == 0)
                #expect(client.stats().joinsInFlight == 0)
            }
        }
    }
}
