import AsyncHTTPClient
import Foundation
import Logging
import Shared
import Synchronization

/// The load simulator: simulated web clients arriving as a Poisson process, each on its own Realtime socket
/// (as browsers), against a running `serve`; it reports what they saw.
///
/// Users arrive for `duration`; afterwards everyone still waiting gets `drain` to be told something. The
/// pass count is the difference of the matchmaker's `/stats` `passes` before and after.
public struct Simulator: Sendable {
    let options: SimulationOptions
    let app: any AppServer
    let http: HTTPClient
    let logger: Logger
    let progress: @Sendable (String) -> Void

    /// A simulator for `options` whose app-server writes go through `app`; `http` carries the REST
    /// broadcasts of skips and the `/stats` reads; `progress` hears a line every `progressEvery`.
    public init(
        options: SimulationOptions, app: any AppServer, http: HTTPClient, logger: Logger,
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.options = options
        self.app = app
        self.http = http
        self.logger = logger
        self.progress = progress
    }

    /// Runs the simulation to the end of its drain.
    public func run() async -> SimulationReport {
        let passesBefore = await passes()
        let tally = Tally()
        let transport = AsyncHTTPTransport(client: http, baseURL: options.url, apiKey: options.apiKey, timeout: .seconds(8), logger: logger)
        let visit = Visit(options: options, app: app, broadcasts: BroadcastClient(transport: transport), tally: tally, logger: logger)
        let clock = ContinuousClock()
        let start = clock.now
        let arrivalsEnd = start + options.duration
        let deadline = arrivalsEnd + options.drain
        let ids = UserIDs(prefix: options.idPrefix, reuse: options.reuseUsers)
        await withTaskGroup(of: Void.self) { group in
            if let every = options.progressEvery {
                group.addTask { await report(every: every, tally: tally, start: start, clock: clock) }
            }
            await withDiscardingTaskGroup { visits in
                var random = SplitMix64(seed: options.seed)
                var next = start
                while true {
                    // Exponential gaps make a Poisson process of the given rate.
                    next += .seconds(double: -log(1 - Double.random(in: 0..<1, using: &random)) / options.rate)
                    if next >= arrivalsEnd { break }
                    do {
                        try await Task.sleep(until: next, clock: clock)
                    } catch {
                        break
                    }
                    let user = SimulatedUser(
                        id: ids.take(now: clock.now), continent: options.continents.randomElement(using: &random) ?? "World",
                        leaveAfter: Double.random(in: 0..<1, using: &random) < options.leaverShare
                            ? options.leaveWithin * Double.random(in: 0..<1, using: &random) : nil,
                        skipsFirstPartner: Double.random(in: 0..<1, using: &random) < options.skipShare, deadline: deadline,
                        maxWait: options.maxWait)
                    visits.addTask {
                        await visit.run(user)
                        ids.giveBack(user.id, now: clock.now)
                    }
                }
            }
            group.cancelAll()
        }
        var summary = tally.summary(final: true)
        if let before = passesBefore, let after = await passes() { summary.passes = after - before }
        return summary
    }

    private func report(every: Duration, tally: Tally, start: ContinuousClock.Instant, clock: ContinuousClock) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: every, clock: clock)
            } catch {
                return
            }
            tally.prune(now: clock.now)
            let now = tally.summary()
            progress(
                String(
                    format: "[%4.0f s] arrived %d, waiting %d, told %d, human pairs p50 %@ p99 %@ (n=%d), bot fills %d, double %d, rss %@",
                    (clock.now - start).seconds, now.arrived, now.waiting, now.told, milliseconds(now.humanPairs.p50),
                    milliseconds(now.humanPairs.p99), now.humanPairs.count, now.botFills.count, now.doubleMatches,
                    residentMemory()))
        }
    }

    /// `passes` from the matchmaker's `/stats`, or nil when it cannot be read.
    func passes() async -> Int? {
        let transport = AsyncHTTPTransport(
            client: http, baseURL: options.statsURL ?? options.url, apiKey: options.apiKey, timeout: .seconds(5), logger: logger)
        do {
            let response = try await transport.send(UpstreamRequest(method: "GET", path: "/stats"))
            let stats = try JSONValue(parsing: Data(response.body.utf8))
            return stats["passes"]?.integerValue.map(Int.init)
        } catch {
            logger.warning("Could not read /stats", metadata: ["error": "\(error)"])
            return nil
        }
    }
}

/// The ids of a run's users: fresh ones (`<prefix>-<n>`), or, with `reuse`, first the id of a visit that
/// ended at least `rest` ago, so that a notice still in flight for its last visit cannot reach the next one.
final class UserIDs: Sendable {
    private struct State {
        var issued = 0
        var free: [(id: String, since: ContinuousClock.Instant)] = []
    }

    private let state = Mutex(State())
    private let prefix: String
    private let reuse: Bool
    private let rest: Duration

    init(prefix: String, reuse: Bool, rest: Duration = .seconds(60)) {
        self.prefix = prefix
        self.reuse = reuse
        self.rest = rest
    }

    /// An id for a user arriving `now`.
    func take(now: ContinuousClock.Instant) -> String {
        state.withLock { state in
            if let oldest = state.free.first, now - oldest.since >= rest {
                return state.free.removeFirst().id
            }
            state.issued += 1
            return "\(prefix)-\(state.issued)"
        }
    }

    /// `id`'s visit ended `now`.
    func giveBack(_ id: String, now: ContinuousClock.Instant) {
        guard reuse else { return }
        state.withLock { $0.free.append((id, now)) }
    }
}

private func milliseconds(_ seconds: Double?) -> String {
    seconds.map { String(format: "%.0f ms", $0 * 1000) } ?? "-"
}

/// This process's resident memory (`VmRSS`), for the progress lines of long runs; `?` where `/proc` has none.
func residentMemory() -> String {
    let status: String
    do {
        status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
    } catch {
        return "?"
    }
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kilobytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
    else { return "?" }
    return String(format: "%.0f MiB", Double(kilobytes) / 1024)
}
