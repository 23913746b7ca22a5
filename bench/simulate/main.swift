import ArgumentParser
import AsyncHTTPClient
import Foundation
import LoadSimulator
import Logging
import MatchmakerCore
import PostgresNIO
import Shared

/// `Simulate`: the load simulator against a running `matchmaker serve` (see `bench/simulate/run.sh` and
/// `bench/RESULTS.md`). Exits 1 when a user was matched twice or left untold.
@main
struct Simulate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulated web clients against a running matchmaker serve: time to match, double matches, untold users.")

    @Option(help: "The project's base URL: Realtime, REST broadcast and (without --database-url) PostgREST.")
    var url = "http://127.0.0.1:8080"
    @Option(help: "The key the clients send (apikey, and bearer when it is a legacy JWT key).")
    var key = "simulator"
    @Option(help: "Where /stats is read for the passes run (default: --url).")
    var statsURL: String?
    @Option(help: "Write user rows and enqueue straight into this database (the postgres backend has no PostgREST).")
    var databaseURL: String?
    @Option(help: "Mean arrivals per second (Poisson).")
    var rate = 20.0
    @Option(help: "Seconds during which users arrive.")
    var duration = 30.0
    @Option(help: "Seconds after the last arrival for everyone waiting to be told something.")
    var drain = 20.0
    @Option(help: "Share of users (0-1) who leave before being matched.")
    var leavers = 0.0
    @Option(help: "Seconds after its enqueue within which a leaver leaves (uniform).")
    var leaveWithin = 1.0
    @Option(help: "Share of matched users (0-1) who skip their first partner and queue again.")
    var skips = 0.0
    @Option(help: "Seconds a user may wait after an enqueue before it counts as untold (default: until the drain ends).")
    var maxWait: Double?
    @Flag(help: "Reuse the ids of visits that ended, so that long runs stop adding user rows.")
    var reuseUsers = false
    @Option(help: "Seconds a matched user stays in the room.")
    var roomStay = 1.0
    @Option(help: "Seconds between progress lines (0: none).")
    var progress = 10.0
    @Option(help: "Random seed.")
    var seed: UInt64 = 1
    @Option(help: "Log level of the simulator's own log (standard error).")
    var logLevel = "error"
    @Option(help: "Write the report as JSON to this file too.")
    var json: String?

    func run() async throws {
        var logger = Logger(label: "simulate")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .error
        var options = SimulationOptions(url: url, apiKey: key)
        options.statsURL = statsURL
        options.databaseURL = databaseURL
        options.rate = rate
        options.duration = .seconds(duration)
        options.drain = .seconds(drain)
        options.leaverShare = leavers
        options.leaveWithin = .seconds(leaveWithin)
        options.skipShare = skips
        options.roomStay = .seconds(roomStay)
        options.maxWait = maxWait.map { .seconds($0) }
        options.reuseUsers = reuseUsers
        options.progressEvery = progress > 0 ? .seconds(progress) : nil
        options.seed = seed

        let http = AsyncHTTPTransport.makeClient(connectionsPerHost: 64)
        let report: SimulationReport
        if let databaseURL {
            let client = PostgresClient(configuration: try DatabaseURL(databaseURL).configuration, backgroundLogger: logger)
            report = await withTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                return await simulate(options, app: SQLAppServer(client: client, logger: logger), http: http, logger: logger)
            }
        } else {
            let rest = AsyncHTTPTransport(client: http, baseURL: url, apiKey: key, timeout: .seconds(8), logger: logger)
            report = await simulate(options, app: RESTAppServer(transport: rest), http: http, logger: logger)
        }
        try await http.shutdown()
        for line in report.lines { say(line) }
        if let json {
            try JSONCoding.encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
        if !report.isClean { throw ExitCode(1) }
    }

    private func simulate(_ options: SimulationOptions, app: any AppServer, http: HTTPClient, logger: Logger) async -> SimulationReport {
        say("Simulating \(options.rate) arrivals/s for \(options.duration) against \(options.url) (users \(options.idPrefix)-*)")
        return await Simulator(options: options, app: app, http: http, logger: logger) { line in say(line) }.run()
    }
}

/// Writes `line` to standard output at once (unbuffered), so progress shows when the output is a file or a pipe.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
