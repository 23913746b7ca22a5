import EmbeddedSupabase
import Foundation
import Logging
import Metrics
import Shared
import Synchronization

/// Replays fixtures: builds the embedded world, runs one pass on virtual time, and compares.
public struct FixtureRunner: Sendable {
    let logger: Logger

    /// Creates a runner that logs passes to `logger`.
    public init(logger: Logger) { self.logger = logger }

    /// Loads a fixture file.
    public static func load(_ url: URL) throws -> Fixture {
        try JSONCoding.decoder.decode(Fixture.self, from: Data(contentsOf: url))
    }

    /// Runs the fixture's pass and returns what it left behind.
    public func run(_ fixture: Fixture) async throws -> Fixture.Outcome {
        let now = try fixture.instant
        let time = Timekeeper.virtual(start: now)
        let backend = EmbeddedBackend(time: time)
        try fixture.build(in: backend)
        let seed = fixture.config.seed ?? 1
        let random = Mutex(SplitMix64(seed: seed))
        let pass = MatchPass(
            ports: backend.ports, settings: fixture.settings, time: time, roomIDs: RoomIDSource(seed: seed),
            metrics: MatchMetrics(factory: NOOPMetricsHandler.instance), logger: logger,
            unit: { random.withLock { Double($0.next() >> 11) / Double(1 << 53) } }
        )
        return try await fixture.outcome(of: pass, in: backend, time: time)
    }

    /// Runs the fixture and lists every difference from its expectation (empty when it matches).
    public func check(_ fixture: Fixture) async throws -> [String] {
        guard let expected = fixture.expected else { return ["fixture has no `expected` outcome"] }
        let actual = try await run(fixture)
        return JSONDiff.differences(expected: try JSONValue(encoding: expected), actual: try JSONValue(encoding: actual), path: "expected")
    }
}

/// A fixture that cannot be run as written.
public struct FixtureError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public var message: String
    public var description: String { message }
}

/// Readable differences between two JSON values, one line per differing leaf.
public enum JSONDiff {
    /// Lists differences as `path: expected X, got Y`.
    public static func differences(expected: JSONValue, actual: JSONValue, path: String) -> [String] {
        switch (expected, actual) {
        case (.object(let left), .object(let right)):
            return Set(left.keys).union(right.keys).sorted().flatMap { key -> [String] in
                switch (left[key], right[key]) {
                case (let l?, let r?): differences(expected: l, actual: r, path: "\(path).\(key)")
                case (let l?, nil): ["\(path).\(key): expected \(render(l)), missing"]
                case (nil, let r?): ["\(path).\(key): unexpected \(render(r))"]
                default: []
                }
            }
        case (.array(let left), .array(let right)):
            var lines = zip(left, right).enumerated().flatMap { index, pair in
                differences(expected: pair.0, actual: pair.1, path: "\(path)[\(index)]")
            }
            if left.count > right.count {
                lines += left[right.count...].enumerated().map { "\(path)[\(right.count + $0)]: expected \(render($1)), missing" }
            } else if right.count > left.count {
                lines += right[left.count...].enumerated().map { "\(path)[\(left.count + $0)]: unexpected \(render($1))" }
            }
            return lines
        default:
            return expected == actual ? [] : ["\(path): expected \(render(expected)), got \(render(actual))"]
        }
    }

    private static func render(_ value: JSONValue) -> String {
        (try? JSONCoding.string(value)) ?? "?"
    }
}

extension Fixture {
    /// The fixture's `now`.
    public var instant: Date {
        get throws {
            guard let now = Timestamp.parse(now) else { throw FixtureError(message: "bad `now`: \(now)") }
            return now
        }
    }

    /// The pass settings the fixture asks for, on virtual time (no attempt timers).
    public var settings: MatchPass.Settings {
        var settings = MatchPass.Settings()
        settings.policy = MatchPolicy(
            skipWindow: config.skipWindow ?? 10, staleAfter: config.staleAfter ?? 30,
            botFillAfter: config.botFillAfter ?? 5, queueTTL: config.queueTTL ?? 60
        )
        settings.leaseSeconds = config.leaseSeconds ?? settings.leaseSeconds
        settings.batchSize = config.batchSize ?? settings.batchSize
        settings.notifyBackoff.maxRetries = config.notifyMaxRetries ?? settings.notifyBackoff.maxRetries
        // Virtual time: injected timeouts fail at once, so no attempt needs a timer.
        settings.attemptTimeout = nil
        return settings
    }

    /// The ids that get a `user` row besides the bots: `users`, or every id a queue message or a skip names.
    public var signedInUsers: [String] {
        if let users { return users }
        var seen: Set<String> = []
        let named = queue.compactMap { $0.message["userId"]?.stringValue } + skips.flatMap { [$0.a, $0.b] }
        return named.filter { seen.insert($0).inserted }
    }

    /// The longest span a fixture's times may have, in seconds (100 years): any longer has no timestamp.
    static let maxSeconds = 3_155_760_000.0

    /// Refuses times no clock can hold (issue 16: an `age` of `1e308` trapped formatting its timestamp),
    /// naming the field: `skips[0].age: 1e+308 is out of range (±3155760000 s)`.
    public func validateTimes() throws {
        var spans: [(String, Double?)] = [
            ("config.skipWindow", config.skipWindow), ("config.staleAfter", config.staleAfter),
            ("config.botFillAfter", config.botFillAfter), ("config.queueTTL", config.queueTTL),
            ("config.leaseSeconds", config.leaseSeconds.map(Double.init)), ("config.batchSize", config.batchSize.map(Double.init)),
            ("config.notifyMaxRetries", config.notifyMaxRetries.map(Double.init)),
        ]
        for (index, message) in queue.enumerated() {
            spans += [("queue[\(index)].age", message.age), ("queue[\(index)].leasedFor", message.leasedFor)]
            spans.append(("queue[\(index)].readCount", message.readCount.map(Double.init)))
        }
        for (index, skip) in skips.enumerated() { spans.append(("skips[\(index)].age", skip.age)) }
        for case (let field, let value?) in spans where !(value.isFinite && abs(value) <= Self.maxSeconds) {
            throw FixtureError(message: "\(field): \(value) is out of range (±\(Int(Self.maxSeconds)) s)")
        }
    }

    /// Puts the fixture's world (users, queue, lobby, skips, bots, faults) into `backend`.
    public func build(in backend: EmbeddedBackend) throws {
        try validateTimes()
        let now = try instant
        let queue = backend.queueName
        for message in self.queue {
            let id = try backend.pgmq.insert(
                queue, message: message.message, enqueuedAt: now.addingTimeInterval(-message.age), readCount: message.readCount ?? 0
            )
            if let hidden = message.leasedFor {
                backend.pgmq.hide(queue, msgID: id, until: now.addingTimeInterval(hidden))
            }
        }
        backend.presence.set(try presence.snapshot())
        try backend.store.addUsers(signedInUsers)
        for skip in skips { try backend.store.addSkip(skip.a, skip.b, at: now.addingTimeInterval(-skip.age)) }
        for bot in bots { backend.store.addBot(bot) }
        if let script = faults.read { backend.faults.script(.read, script) }
        if let script = faults.delete { backend.faults.script(.delete, script) }
        if let script = faults.skips { backend.faults.script(.skips, script) }
        if let script = faults.bots { backend.faults.script(.bots, script) }
        for (user, script) in faults.notify ?? [:] { backend.faults.script(.notify(user: user), script) }
        for (user, script) in faults.createRoom ?? [:] { backend.faults.script(.createRoom(user: user), script) }
    }

    /// Runs `pass` and reads what it left in `backend`.
    public func outcome(of pass: MatchPass, in backend: EmbeddedBackend, time: Timekeeper) async throws -> Outcome {
        let status: Int
        let response: JSONValue
        do {
            response = try await pass.run().responseBody
            status = 200
        } catch let error as PassError {
            response = PassReport.failureBody(message: error.message)
            status = 500
        }
        let tables = backend.store.contents
        return Fixture.Outcome(
            status: status,
            response: response,
            notifications: backend.notifier.log.sorted {
                ($0.userID, $0.event, (try? JSONCoding.string($0.payload)) ?? "")
                    < ($1.userID, $1.event, (try? JSONCoding.string($1.payload)) ?? "")
            },
            rooms: tables.rooms.values.sorted { $0.id < $1.id }.map {
                Fixture.RoomWithMembers(room: $0, members: tables.members[$0.id] ?? [])
            },
            queue: backend.pgmq.rows(backend.queueName).map {
                Fixture.Remaining(msgID: $0.msgID, readCount: $0.readCount, leased: $0.visibleAt > time.now())
            },
            archived: backend.pgmq.archived(backend.queueName).map(\.msgID),
            notificationAttempts: (faults.notify ?? [:]).isEmpty ? nil : attempts(in: backend.notifier)
        )
    }

    /// The notifier's attempts grouped by user, in user order, keeping the attempt order within each user
    /// (the two users of a pair are told concurrently, so only the order per user is meaningful).
    private func attempts(in notifier: EmbeddedNotifier) -> [NotificationAttempt] {
        notifier.attempts.enumerated().sorted { ($0.element.userID, $0.offset) < ($1.element.userID, $1.offset) }.map(\.element)
    }
}
