// Planner benchmark: plans one pass over n leased users (mixed continents, 10 % bots, 5 % recent skips)
// and prints the median time per size, side by side, with the growth ratio against n log n.
import Foundation
import MatchmakerCore
import Shared

struct World {
    var rows: [QueueRow] = []
    var presence: [String: [JSONValue]] = [:]
    var skips: [Skip] = []
    var bots: Set<String> = []
}

func makeWorld(users: Int, seed: UInt64, now: Date) -> World {
    var random = SplitMix64(seed: seed)
    var world = World()
    let continents = Continent.allCases.map(\.rawValue)
    for index in 0..<users {
        let isBot = random.next() % 10 == 0
        let id = isBot ? "bot-\(index)" : "user-\(index)"
        let continent = isBot ? "World" : continents[Int(random.next() % UInt64(continents.count))]
        let age = Double(random.next() % 50_000) / 1000
        world.rows.append(
            QueueRow(
                msgID: Int64(index + 1), readCount: 1, enqueuedAt: now.addingTimeInterval(-age), visibleAt: now.addingTimeInterval(30),
                message: ["userId": .string(id), "continent": .string(continent)]
            )
        )
        world.presence[id] = isBot ? [["user_id": .string(id), "status": "waiting"]] : [["status": "waiting"]]
        if isBot { world.bots.insert(id) }
    }
    for index in 0..<users where random.next() % 20 == 0 {
        let other = Int(random.next() % UInt64(users))
        world.skips.append(Skip(userA: "user-\(index)", userB: "user-\(other)", createdAt: now.addingTimeInterval(-3)))
    }
    return world
}

let arguments = CommandLine.arguments.dropFirst()
let sizes = arguments.isEmpty ? [1_000, 10_000, 100_000] : arguments.compactMap { Int($0) }
let now = Date()
let planner = Planner(policy: MatchPolicy())
var results: [(size: Int, best: Double, median: Double, pairs: Int)] = []
for size in sizes {
    let world = makeWorld(users: size, seed: 42, now: now)
    let repetitions = max(3, min(21, 2_000_000 / size))
    var samples: [Double] = []
    var pairs = 0
    for _ in 0..<repetitions {
        let start = ContinuousClock.now
        // Parsing is part of what is timed, as it was when the planner parsed the rows itself.
        let leased = LeasedUsers(rows: world.rows)
        let plan = planner.plan(leased, presence: .available(world.presence), skips: world.skips, bots: world.bots, now: now)
        samples.append((ContinuousClock.now - start).seconds * 1000)
        pairs = plan.pairs.count
    }
    let sorted = samples.sorted()
    results.append((size, sorted[0], sorted[sorted.count / 2], pairs))
}

print("| users | best (ms) | median (ms) | pairs | best time / (n log2 n), relative to the smallest size |")
print("|---:|---:|---:|---:|---:|")
let base = results[0]
for result in results {
    let scale = (Double(result.size) * log2(Double(result.size))) / (Double(base.size) * log2(Double(base.size)))
    let growth = (result.best / base.best) / scale
    print(
        "| \(result.size) | \(String(format: "%.2f", result.best)) | \(String(format: "%.2f", result.median)) | \(result.pairs) "
            + "| \(String(format: "%.2f", growth)) |"
    )
}
