import AsyncHTTPClient
import EmbeddedSupabase
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import MatchmakerCore
import Shared

/// One `supabase`-backend pass over n leased users against the embedded backend, over real sockets:
/// the upstream requests it makes (by kind) and how long it takes.
///
/// Every user waits in the lobby on a Realtime socket of its own (as a browser would), so the pass reads a
/// real `presence_state` of n keys; the queue, the room RPCs and the broadcasts are real HTTP requests
/// to the embedded PostgREST and Realtime REST endpoints.
///
/// Run: `swift build -c release --product PassBench && .build/release/PassBench 10 100 1000`.
@main
struct PassBench {
    static func main() async throws {
        let sizes = CommandLine.arguments.dropFirst().compactMap(Int.init)
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        print("| users leased | in the lobby | rooms | upstream requests | requests by kind | pass time |")
        print("|---:|---:|---:|---:|---|---:|")
        for size in sizes.isEmpty ? [10, 100] : sizes {
            try await measure(users: size, logger: logger)
        }
    }

    static func measure(users count: Int, logger: Logger) async throws {
        let backend = EmbeddedBackend()
        let server = await buildServe(
            config: .onDemand, bots: .off, backend: .embedded(backend), exporter: PrometheusExporter(), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.application.run() }
            let url = "http://127.0.0.1:\(await server.port.value() ?? 0)"

            // The users: each waiting in the lobby under its own key, then enqueued as the app server does.
            var browsers = RealtimeConfiguration(url: url, apiKey: "bench")
            browsers.joinsPerSecond = 1000
            let people = RealtimeClient(configuration: browsers, logger: logger)
            group.addTask { try await people.run() }
            let continents = ["Europe", "Asia", "World", "North America"]
            try await withThrowingDiscardingTaskGroup { joins in
                for index in 0..<count {
                    joins.addTask {
                        let lobby = await people.channel(
                            RealtimePresenceSource.lobby, options: ChannelOptions(presenceKey: "user-\(index)", presenceEnabled: true),
                            exclusive: true, stateOnly: true)
                        try await lobby.subscribe()
                        try await lobby.track(["status": "waiting"])
                    }
                }
            }
            while (backend.hub.lobbySnapshot()?.count ?? 0) < count { try await Task.sleep(for: .milliseconds(20)) }
            // Signed in first, as the app's users are: the rooms' foreign keys need their `user` rows.
            try backend.store.addUsers((0..<count).map { "user-\($0)" })
            for index in 0..<count {
                _ = try backend.pgmq.send(
                    backend.queueName, message: ["userId": .string("user-\(index)"), "continent": .string(continents[index % 4])])
            }

            // The pass, as `matchmaker match` makes it with SUPABASE_URL pointed at this server.
            let http = AsyncHTTPTransport.makeClient(connectionsPerHost: 8)
            let recorder = RecordingTransport(
                recording: AsyncHTTPTransport(client: http, baseURL: url, apiKey: "bench", timeout: .seconds(8), logger: logger))
            var settings = MatchPass.Settings()
            settings.batchSize = count
            let supabase = SupabaseBackend(transport: recorder, queueName: backend.queueName, notifyPrivate: false)
            let matcher = RealtimeClient(configuration: RealtimeConfiguration(url: url, apiKey: "bench"), logger: logger)
            group.addTask { try await matcher.run() }
            let pass = MatchPass(
                ports: supabase.ports(presence: RealtimePresenceSource(client: matcher, keepJoined: false)), settings: settings,
                logger: logger)
            let started = ContinuousClock.now
            let report = try await pass.run()
            let elapsed = ContinuousClock.now - started

            var kinds: [String: Int] = [:]
            for exchange in recorder.exchanges {
                kinds[exchange.request.path.split(separator: "?").first.map(String.init) ?? "", default: 0] += 1
            }
            let byKind = kinds.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key < $1.key) }
                .map {
                    "\($0.value) \($0.key.replacingOccurrences(of: "/rest/v1/", with: "").replacingOccurrences(of: "/realtime/v1/api/", with: ""))"
                }
                .joined(separator: ", ")
            print(
                "| \(report.totalUsers) | \(backend.hub.lobbySnapshot()?.count ?? 0) | \(report.pairedRooms) | \(recorder.exchanges.count) | "
                    + "\(byKind) | \(String(format: "%.0f", elapsed.seconds * 1000)) ms |")
            try await http.shutdown()
            group.cancelAll()
        }
    }
}
