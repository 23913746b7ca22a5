import EmbeddedSupabase
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import MatchmakerCore
import Shared
import Synchronization

/// 1,000 channels over 100 sockets against the embedded hub in one process: join time, join rate, RSS.
///
/// Run: `swift run -c release RealtimeBench [channels] [joinsPerSecond]`.
@main
struct RealtimeBench {
    static func main() async throws {
        let arguments = CommandLine.arguments.dropFirst().compactMap(Int.init)
        let channelCount = arguments.first ?? 1000
        let joinsPerSecond = arguments.dropFirst().first ?? 100
        var logger = Logger(label: "bench")
        logger.logLevel = .error

        let backend = EmbeddedBackend()
        let server = await buildServe(
            config: .onDemand, bots: .off, backend: .embedded(backend), exporter: PrometheusExporter(), logger: logger)

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.application.run() }
            let port = await server.port.value() ?? 0
            let rssBefore = residentKiB()
            let observations = backend.hub.observe()
            var configuration = RealtimeConfiguration(url: "http://127.0.0.1:\(port)", apiKey: "bench")
            configuration.joinsPerSecond = joinsPerSecond
            let client = RealtimeClient(configuration: configuration, logger: logger)
            group.addTask { try await client.run() }

            let joinTimes = JoinClock()
            group.addTask {
                for await observation in observations {
                    if case .joinReceived(_, _, let at) = observation { joinTimes.record(at) }
                }
            }
            let started = ContinuousClock.now
            var channels: [RealtimeChannel] = []
            for index in 0..<channelCount { channels.append(await client.channel("bot:\(index)")) }
            try await withThrowingDiscardingTaskGroup { joins in
                for channel in channels { joins.addTask { try await channel.subscribe() } }
            }
            let elapsed = ContinuousClock.now - started
            let stats = client.stats()
            let rssAfter = residentKiB()
            print("channels: \(stats.channels) on \(stats.sockets) sockets (max per socket \(stats.channelsPerSocket.max() ?? 0))")
            print("join time: \(elapsed) total, \(String(format: "%.2f", elapsed.seconds * 1000 / Double(channelCount))) ms per channel")
            print("configured joins/s: \(joinsPerSecond); most joins seen by the hub in any 1 s window: \(joinTimes.maxPerSecond())")
            print("monitor: average response \(String(format: "%.1f", client.monitor.snapshot.averageResponseTimeMs)) ms")
            print("RSS: \(rssBefore) KiB before, \(rssAfter) KiB after (+\(rssAfter - rssBefore) KiB, both ends in one process)")
            group.cancelAll()
        }
    }

    /// This process's resident set size from `/proc/self/status`.
    static func residentKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
}

/// Arrival times of joins at the hub, as the hub stamped them.
final class JoinClock: Sendable {
    private let times = Mutex<[Date]>([])

    func record(_ at: Date) { times.withLock { $0.append(at) } }

    /// The most joins inside any one-second window.
    func maxPerSecond() -> Int {
        let sorted = times.withLock { $0 }.sorted()
        var best = 0
        var start = 0
        for end in sorted.indices {
            while sorted[end].timeIntervalSince(sorted[start]) >= 1 { start += 1 }
            best = max(best, end - start + 1)
        }
        return best
    }
}
