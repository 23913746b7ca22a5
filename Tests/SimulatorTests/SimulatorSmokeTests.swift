import AsyncHTTPClient
import LoadSimulator
import MatchmakerCore
import Shared
import TestSupport
import Testing

/// The load simulator against `serve` on the embedded backend over real sockets, briefly, so that it
/// cannot rot: every user is told something, nobody twice.
@Suite struct SimulatorSmokeTests {
    /// On the schedule alone and with event-driven passes (issue 11).
    @Test(arguments: [false, true]) func aShortRunMatchesEveryoneOnceAndTellsEveryone(onEvents: Bool) async throws {
        let report = try await withLiveServer(configure: {
            $0.matchInterval = .milliseconds(200)
            $0.matchOnEvents = onEvents
            // A user left alone at the end (no bots here) hears `stranger_no_matches` within the drain.
            $0.pass.policy.queueTTL = 1
        }) { port, _ in
            var options = SimulationOptions(url: "http://127.0.0.1:\(port)", apiKey: "test")
            options.rate = 10
            options.duration = .seconds(3)
            options.drain = .seconds(10)
            options.leaverShare = 0.1
            options.roomStay = .milliseconds(300)
            options.progressEvery = nil
            let http = AsyncHTTPTransport.makeClient(connectionsPerHost: 16)
            let rest = AsyncHTTPTransport(
                client: http, baseURL: options.url, apiKey: options.apiKey, timeout: .seconds(8), logger: testLogger)
            let report = await Simulator(options: options, app: RESTAppServer(transport: rest), http: http, logger: testLogger).run()
            try await http.shutdown()
            return report
        }
        #expect(report.arrived > 0)
        #expect(report.humanPairs.count > 0)
        #expect(report.doubleMatches == 0)
        #expect(report.untold == 0)
        #expect(report.failures.isEmpty)
        #expect((report.passes ?? 0) > 0)
    }
}
