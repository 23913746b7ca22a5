import Foundation
import Shared

/// How long each fuzz target runs: `FUZZ_ITERATIONS` inputs (default `defaultIterations`, a fraction of a
/// second in debug), or, when `FUZZ_SECONDS` is set, as many as fit in that many seconds (bench/fuzz).
/// `FUZZ_SEED` picks the seed (default 16); every input follows from it, so a failure reproduces.
struct FuzzBudget: Sendable {
    var iterations: Int
    var seconds: Double?
    var seed: UInt64

    static func current(defaultIterations: Int) -> FuzzBudget {
        let environment = ProcessInfo.processInfo.environment
        return FuzzBudget(
            iterations: environment["FUZZ_ITERATIONS"].flatMap(Int.init) ?? defaultIterations,
            seconds: environment["FUZZ_SECONDS"].flatMap(Double.init),
            seed: environment["FUZZ_SEED"].flatMap(UInt64.init) ?? 16
        )
    }

    /// Runs `body` once per input with its own generator, and prints the count and rate for bench/RESULTS.md.
    ///
    /// It yields every few inputs: the suite runs in parallel on a cooperative pool as wide as the machine has
    /// cores, and a target that never gave its thread back would stall the tests that wait on sockets and clocks.
    func run(_ target: String, _ body: (inout SplitMix64, Int) async throws -> Void) async rethrows {
        let clock = ContinuousClock()
        let start = clock.now
        var random = SplitMix64(seed: seed)
        var count = 0
        while seconds.map({ clock.now - start < .seconds($0) }) ?? (count < iterations) {
            try await body(&random, count)
            count += 1
            if count.isMultiple(of: 32) { await Task.yield() }
        }
        report(target, count: count, elapsed: clock.now - start)
    }

    private func report(_ target: String, count: Int, elapsed: Duration) {
        let total = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(
            "fuzz \(target): \(count) inputs in \(String(format: "%.1f", total)) s (\(Int(Double(count) / max(total, 1e-9))) inputs/s), seed \(seed)"
        )
    }
}

extension SplitMix64 {
    /// A number in `0..<bound` (`bound` > 0).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// True with probability `1/n`.
    mutating func oneIn(_ n: Int) -> Bool { below(n) == 0 }

    /// One of `items` (non-empty).
    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
}

/// The corpus and crasher files of this target, read from the source tree.
enum FuzzFiles {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    /// Every file under `Corpus/<kind>/`, sorted by name.
    static func corpus(_ kind: String) -> [[UInt8]] { files(in: root.appendingPathComponent("Corpus/\(kind)")).map(\.bytes) }

    /// One named regression input under `Crashers/`.
    static func crasher(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: root.appendingPathComponent("Crashers/\(name)")))
    }

    static func files(in directory: URL) -> [(name: String, bytes: [UInt8])] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.sorted().compactMap { name in
            (try? Data(contentsOf: directory.appendingPathComponent(name))).map { (name, Array($0)) }
        }
    }
}

/// Byte-level mutations of a seed input, libFuzzer style: flips, inserts, deletes, duplicated and spliced
/// ranges, and tokens of the format dropped in.
struct Mutator {
    var tokens: [[UInt8]]

    func mutate(_ input: [UInt8], _ random: inout SplitMix64, splice other: [UInt8]) -> [UInt8] {
        var bytes = input
        for _ in 0...random.below(4) {
            let position = bytes.isEmpty ? 0 : random.below(bytes.count + 1)
            switch random.below(8) {
            case 0 where !bytes.isEmpty:
                bytes[min(position, bytes.count - 1)] ^= UInt8(1 << random.below(8))
            case 1:
                bytes.insert(UInt8(truncatingIfNeeded: random.next()), at: position)
            case 2 where !bytes.isEmpty:
                let end = min(bytes.count, position + 1 + random.below(8))
                bytes.removeSubrange(min(position, bytes.count - 1)..<end)
            case 3 where !bytes.isEmpty:
                let start = random.below(bytes.count)
                let end = min(bytes.count, start + 1 + random.below(32))
                bytes.insert(contentsOf: bytes[start..<end], at: position)
            case 4 where !other.isEmpty:
                let start = random.below(other.count)
                bytes.insert(contentsOf: other[start..<min(other.count, start + 1 + random.below(64))], at: position)
            case 5 where !bytes.isEmpty:
                bytes.removeSubrange(position..<bytes.count)
            case 6 where !bytes.isEmpty:
                let index = min(position, bytes.count - 1)
                bytes[index] = random.pick(Array("{}[]\",:\\0.e-+u\n ".utf8))
            default:
                bytes.insert(contentsOf: random.pick(tokens), at: position)
            }
        }
        return bytes
    }
}
