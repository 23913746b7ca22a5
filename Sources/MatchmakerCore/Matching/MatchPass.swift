import Foundation
import Logging
import Shared
import Synchronization

/// One matchmaking pass: lease → presence → skips → plan → commit → report (design "Inside a pass").
///
/// The pass holds no state between runs: leases and atomic match commits keep concurrent passes apart.
public struct MatchPass: Sendable {
    /// Knobs of a pass.
    public struct Settings: Sendable, Hashable {
        /// Messages leased per pass (`BATCH_SIZE`, 100 as the original).
        public var batchSize = 100
        /// pgmq visibility timeout (`QUEUE_LEASE_SECONDS`, 30).
        public var leaseSeconds = 30
        /// The pairing rules.
        public var policy = MatchPolicy()
        /// UserNotification retries (contract §5).
        public var notifyBackoff = Backoff.notification
        /// Limit on one notification attempt (`REALTIME_CONNECT_TIMEOUT`, 8 s); `nil` leaves it to the transport.
        public var attemptTimeout: Duration? = .seconds(8)
        /// Retries of queue and table writes.
        public var storeBackoff = Backoff(maxRetries: 2, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        /// Pairs committed at once, on a store that commits pair by pair.
        public var commitConcurrency = 8
        /// Pairs per `commit_stranger_matches` call, on a store that commits set-wise (`BatchMatchStore`).
        public var commitBatchSize = 1_000

        /// Defaults from the contract.
        public init() {}

        /// How long a committing pass owns its match's notifications before the outbox relay may deliver
        /// them (`claim_seconds`). A pass's two notifications, retried, take at most a few attempt timeouts;
        /// twice the lease, at least 10 s, leaves room for that before a relay may deliver them a second time.
        public var claimSeconds: Int { max(2 * leaseSeconds, 10) }
    }

    let ports: MatchPorts
    let settings: Settings
    let time: Timekeeper
    let roomIDs: RoomIDSource
    let metrics: MatchMetrics
    let logger: Logger
    let unit: @Sendable () -> Double

    /// Creates a pass.
    /// - Parameters:
    ///   - unit: uniform random numbers in `0..<1` for retry jitter (seeded in fixtures).
    public init(
        ports: MatchPorts, settings: Settings, time: Timekeeper = .system, roomIDs: RoomIDSource = RoomIDSource(),
        metrics: MatchMetrics = MatchMetrics(), logger: Logger,
        unit: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.ports = ports
        self.settings = settings
        self.time = time
        self.roomIDs = roomIDs
        self.metrics = metrics
        self.logger = logger
        self.unit = unit
    }

    /// Runs the pass.
    /// - Throws: `PassError` when the queue cannot be read; every later failure is contained in the report.
    public func run() async throws -> PassReport {
        let started = ContinuousClock.now
        let rows: [QueueRow]
        do {
            rows = try await storeRetry.run { _ in
                try await ports.queue.lease(count: settings.batchSize, leaseSeconds: settings.leaseSeconds)
            }
        } catch {
            logger.error("Queue read failed", metadata: ["error": "\(error)"])
            metrics.recordFailedPass()
            throw PassError(message: "Failed to read queue", underlying: error)
        }
        var report = PassReport()
        report.totalUsers = rows.count
        guard !rows.isEmpty else {
            metrics.record(report, plan: nil, now: time.now(), duration: ContinuousClock.now - started)
            return report
        }

        let leased = LeasedUsers(rows: rows)
        let userIDs = leased.userIDs
        let now = time.now()
        async let presence = ports.presence.snapshot()
        let (skips, bots) = await lookups(among: userIDs, since: now.addingTimeInterval(-settings.policy.skipWindow), report: &report)
        let snapshot = await presence
        if case .unavailable(let reason) = snapshot {
            logger.warning("Presence unavailable; pass runs degraded", metadata: ["presence.error": "\(reason)"])
            report.presenceError = reason
        }

        let planner = Planner(policy: settings.policy)
        var plan = planner.plan(leased, presence: snapshot, skips: skips, bots: bots, now: now)
        if plan.botFillWanted > 0, let idle = await idleBots(wanted: plan.botFillWanted), !idle.isEmpty {
            plan = planner.plan(leased, presence: snapshot, skips: skips, bots: bots, idleBots: idle, now: now)
        }
        report.degraded = plan.degraded
        report.unprocessedUsers = plan.unpairedUserCount
        report.botFillDueAt = plan.botFillDueAt

        await applyDrops(plan.drops, into: &report)
        let outcomes = await commit(plan.pairs, now: now)
        // A human whose registered bot was taken meanwhile (another matchmaker, `MM004`) is released with the
        // kept users, so that the next pass offers another bot, rather than waiting out the lease.
        var refusedFills: [Candidate] = []
        for (pair, outcome) in zip(plan.pairs, outcomes) {
            if outcome.room == nil, pair.second.isRegistered { refusedFills.append(pair.first) }
            report.failedNotificationAttempts += outcome.failedAttempts
            if let room = outcome.room {
                report.rooms.append(room)
                report.duplicates += pair.first.duplicateMsgIDs.count + pair.second.duplicateMsgIDs.count
                if pair.kind == .botFill { report.botFills += 1 }
            } else {
                report.undone += 1
                report.unprocessedUsers += 2
            }
        }
        await expire(plan.expired, into: &report)

        // Timestamps travel at microsecond precision (PostgREST's text, PostgreSQL's storage), so the bound
        // gets a millisecond of slack; another reader's lease would end at least a second later.
        await release(plan.kept + refusedFills, leasedUntil: rows.map(\.visibleAt).max()!.addingTimeInterval(0.001))

        let duration = ContinuousClock.now - started
        metrics.record(report, plan: plan, now: now, duration: duration)
        logger.info(
            "Pass completed",
            metadata: [
                "pass.leased": "\(report.totalUsers)", "pass.rooms": "\(report.pairedRooms)",
                "pass.undone": "\(report.undone)", "pass.degraded": "\(report.degraded)",
                "pass.duration_ms": "\(String(format: "%.1f", duration.seconds * 1000))",
            ]
        )
        return report
    }

    // MARK: - Commit

    private struct PairOutcome: Sendable {
        var room: Room?
        var failedAttempts: Int
    }

    /// Commits pairs, set-wise when the store can, else pair by pair with bounded concurrency; outcomes
    /// come back in plan order.
    private func commit(_ pairs: [Pairing], now: Date) async -> [PairOutcome] {
        let roomIDs = pairs.map { _ in self.roomIDs.next() }
        if let store = ports.store as? any BatchMatchStore {
            return await commitSetWise(pairs, roomIDs: roomIDs, store: store, now: now)
        }
        return await withTaskGroup(of: (Int, PairOutcome).self) { group in
            var outcomes = [PairOutcome?](repeating: nil, count: pairs.count)
            var next = 0
            func addNext() {
                guard next < pairs.count else { return }
                let index = next
                group.addTask { (index, await commit(pairs[index], roomID: roomIDs[index], now: now)) }
                next += 1
            }
            for _ in 0..<max(1, settings.commitConcurrency) { addNext() }
            while let (index, outcome) = await group.next() {
                outcomes[index] = outcome
                addNext()
            }
            return outcomes.map { $0! }
        }
    }

    /// The commit (room, members, the pair's messages consumed), then both notifications. Undone if
    /// either user cannot be told.
    private func commit(_ pair: Pairing, roomID: String, now: Date) async -> PairOutcome {
        var log = logger
        log[metadataKey: "match.room_id"] = "\(roomID)"
        do {
            let match = try MatchCommit(pair, roomID: roomID, now: now, settings: settings)
            try await storeRetry.run { _ in try await ports.store.commit(match) }
            return await settle(pair, room: match.room)
        } catch {
            log.warning("Match commit failed; both users stay queued", metadata: ["error": "\(error)"])
            return PairOutcome(room: nil, failedAttempts: 0)
        }
    }

    /// Tells both users of a committed match, one notification at a time, and acknowledges; undoes the
    /// room if either user cannot be told.
    private func settle(_ pair: Pairing, room: Room) async -> PairOutcome {
        var log = logger
        log[metadataKey: "match.room_id"] = "\(room.id)"
        async let firstDelivery = notify(try .matched(pair.first.userID, room: room))
        async let secondDelivery = notify(try .matched(pair.second.userID, room: room))
        let deliveries = await [firstDelivery, secondDelivery]
        var failedAttempts = deliveries.map(\.failedAttempts).reduce(0, +)

        if deliveries.allSatisfy(\.delivered) {
            if (try? await storeRetry.run({ _ in try await ports.store.roomNotified(id: room.id) })) == nil {
                log.warning("Room delivery not acknowledged; the outbox relay may tell its users again")
            }
            return PairOutcome(room: room, failedAttempts: failedAttempts)
        }

        log.warning("Notification failed for good; undoing the room")
        do {
            try await storeRetry.run { _ in try await ports.store.deleteRoom(id: room.id) }
        } catch {
            log.error("Room undo failed", metadata: ["error": "\(error)"])
        }
        for (user, delivery) in zip([pair.first.userID, pair.second.userID], deliveries) where delivery.delivered {
            failedAttempts += await notify(.skipped(user)).failedAttempts
        }
        return PairOutcome(room: nil, failedAttempts: failedAttempts)
    }

    /// The set-wise commit: every pair in `commitBatchSize` chunks through one `commit_stranger_matches`
    /// call each, then the notifications of the committed ones in as few requests as the notifier takes,
    /// then one acknowledgement. Pairs whose batched notification fails for good fall back to `settle`
    /// (one notification at a time, undo on failure), so the contract's per-user outcome is unchanged.
    private func commitSetWise(_ pairs: [Pairing], roomIDs: [String], store: any BatchMatchStore, now: Date) async -> [PairOutcome] {
        var outcomes = [PairOutcome](repeating: PairOutcome(room: nil, failedAttempts: 0), count: pairs.count)
        var matches: [(index: Int, match: MatchCommit)] = []
        for (index, pair) in pairs.enumerated() {
            do {
                matches.append((index, try MatchCommit(pair, roomID: roomIDs[index], now: now, settings: settings)))
            } catch {
                logger.warning(
                    "Match not encodable; both users stay queued", metadata: ["match.room_id": "\(roomIDs[index])", "error": "\(error)"])
            }
        }
        var pending: [(index: Int, match: MatchCommit)] = []
        for chunk in matches.chunked(by: max(1, settings.commitBatchSize)) {
            let results: [MatchCommitOutcome]
            do {
                results = try await storeRetry.run { _ in try await store.commit(batch: chunk.map(\.match)) }
            } catch {
                logger.warning(
                    "Match commit failed; the batch's users stay queued", metadata: ["pairs": "\(chunk.count)", "error": "\(error)"])
                continue
            }
            for ((index, match), result) in zip(chunk, results) {
                switch result {
                case .committed:
                    pending.append((index, match))
                case .committedAndNotified:
                    for notification in match.notifications {
                        metrics.recordNotification(event: notification.event, delivered: true, failedAttempts: 0)
                    }
                    outcomes[index] = PairOutcome(room: match.room, failedAttempts: 0)
                case .rejected(let code):
                    logger.warning(
                        "Match commit refused; both users stay queued",
                        metadata: ["match.room_id": "\(match.room.id)", "sqlstate": "\(code)"])
                }
            }
        }

        var told: [(index: Int, room: Room)] = []
        var fallback: [(index: Int, room: Room)] = []
        if let notifier = ports.notifier as? any BatchNotifier {
            for chunk in pending.chunked(by: max(1, notifier.maxBatchSize / 2)) {
                let delivery = await notify(batch: chunk.flatMap(\.match.notifications), through: notifier)
                for (offset, entry) in chunk.enumerated() {
                    if delivery.delivered {
                        told.append((entry.index, entry.match.room))
                        outcomes[entry.index] = PairOutcome(
                            room: entry.match.room, failedAttempts: offset == 0 ? delivery.failedAttempts : 0)
                    } else {
                        fallback.append((entry.index, entry.match.room))
                        if offset == 0 { outcomes[entry.index].failedAttempts = delivery.failedAttempts }
                    }
                }
            }
        } else {
            fallback = pending.map { ($0.index, $0.match.room) }
        }
        if !told.isEmpty {
            let toldIDs = told.map(\.room.id)
            do {
                try await storeRetry.run { _ in try await store.roomsNotified(ids: toldIDs) }
            } catch {
                logger.warning(
                    "Room deliveries not acknowledged; the outbox relay may tell their users again", metadata: ["error": "\(error)"])
            }
        }
        await withTaskGroup(of: (Int, PairOutcome).self) { group in
            var next = 0
            func addNext() {
                guard next < fallback.count else { return }
                let (index, room) = fallback[next]
                group.addTask { (index, await settle(pairs[index], room: room)) }
                next += 1
            }
            for _ in 0..<max(1, settings.commitConcurrency) { addNext() }
            while let (index, outcome) = await group.next() {
                outcomes[index].room = outcome.room
                outcomes[index].failedAttempts += outcome.failedAttempts
                addNext()
            }
        }
        return outcomes
    }

    /// Up to `wanted` idle registered bots, with a few spare for humans who skipped one of them; nil when the
    /// registry cannot be read (the pass goes on without registered bots).
    private func idleBots(wanted: Int) async -> [String]? {
        do {
            return try await storeRetry.run { _ in try await ports.store.idleBots(limit: wanted + 8) }
        } catch {
            logger.warning("Bot registry unavailable; no registered bot this pass", metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Skips and bots for the leased users; either missing degrades the pass rather than stopping it.
    private func lookups(among userIDs: [String], since: Date, report: inout PassReport) async -> ([Skip], Set<String>) {
        let found: (skips: Result<[Skip], any Error>, bots: Result<Set<String>, any Error>)
        if let store = ports.store as? any BatchMatchStore {
            found = await store.passLookups(among: userIDs, since: since)
        } else {
            found = (
                await Result(catching: { try await ports.store.recentSkips(among: userIDs, since: since) }),
                await Result(catching: { try await ports.store.botIDs(among: userIDs) })
            )
        }
        var skips: [Skip] = []
        switch found.skips {
        case .success(let value): skips = value
        case .failure(let error):
            logger.warning("Skip ledger unavailable; pairing without it", metadata: ["error": "\(error)"])
            report.skipsUnavailable = true
        }
        var bots: Set<String> = []
        switch found.bots {
        case .success(let value): bots = value
        case .failure(let error):
            logger.warning("Bot lookup failed; bots known from presence only", metadata: ["error": "\(error)"])
        }
        return (skips, bots)
    }

    /// Tells expired users, then deletes their messages (a crash in between leaves them queued, to be told
    /// again). Through a batching notifier the notices go out in as few requests as it takes, and the
    /// messages go in one delete; a batch that fails for good falls back to one user at a time.
    private func expire(_ expired: [Candidate], into report: inout PassReport) async {
        var oneByOne = expired
        if let notifier = ports.notifier as? any BatchNotifier, !expired.isEmpty {
            oneByOne = []
            for chunk in expired.chunked(by: max(1, notifier.maxBatchSize)) {
                let delivery = await notify(
                    batch: chunk.map { .noMatches($0.userID, reason: "No match found. Please try again.") }, through: notifier)
                report.failedNotificationAttempts += delivery.failedAttempts
                if delivery.delivered {
                    if await deleteMessages(chunk.flatMap(\.allMsgIDs)) { report.expired += chunk.count }
                } else {
                    oneByOne += chunk
                }
            }
        }
        for candidate in oneByOne {
            let delivery = await notify(.noMatches(candidate.userID, reason: "No match found. Please try again."))
            report.failedNotificationAttempts += delivery.failedAttempts
            if delivery.delivered, await deleteMessages(candidate.allMsgIDs) {
                report.expired += 1
            }
        }
    }

    // MARK: - I/O helpers

    /// Users left waiting become visible again at once, so the next pass (in any process) can pair
    /// them with someone who arrived meanwhile or fill them with a bot after `BOT_FILL_AFTER`, rather
    /// than after the whole lease. If this fails they reappear when the lease ends, as before.
    private func release(_ kept: [Candidate], leasedUntil: Date) async {
        let messages = kept.flatMap(\.allMsgIDs)
        guard !messages.isEmpty else { return }
        do {
            _ = try await storeRetry.run { _ in try await ports.queue.release(messages, leasedUntil: leasedUntil) }
        } catch {
            logger.warning("Kept messages not released; they reappear when the lease ends", metadata: ["error": "\(error)"])
        }
    }

    private struct Delivery: Sendable {
        var delivered: Bool
        var failedAttempts: Int
    }

    /// Sends one notification with retries; a user counts as notified only after a success.
    private func notify(_ make: @autoclosure () throws -> UserNotification) async -> Delivery {
        guard let notification = try? make() else { return Delivery(delivered: false, failedAttempts: 0) }
        let failures = Mutex(0)
        let runner = RetryRunner(backoff: settings.notifyBackoff, attemptTimeout: settings.attemptTimeout, time: time, unit: unit)
        do {
            try await runner.run(onFailure: { _, _, _ in failures.withLock { $0 += 1 } }) { _ in
                try await ports.notifier.send(notification)
            }
            metrics.recordNotification(event: notification.event, delivered: true, failedAttempts: failures.withLock { $0 })
            return Delivery(delivered: true, failedAttempts: failures.withLock { $0 })
        } catch {
            logger.warning(
                "Notification not delivered",
                metadata: ["realtime.topic": "\(notification.topic)", "notify.event": "\(notification.event)", "error": "\(error)"]
            )
            metrics.recordNotification(event: notification.event, delivered: false, failedAttempts: failures.withLock { $0 })
            return Delivery(delivered: false, failedAttempts: failures.withLock { $0 })
        }
    }

    /// Sends `notifications` in one request per attempt, with the notification retries.
    private func notify(batch notifications: [UserNotification], through notifier: any BatchNotifier) async -> Delivery {
        guard !notifications.isEmpty else { return Delivery(delivered: true, failedAttempts: 0) }
        let failures = Mutex(0)
        let runner = RetryRunner(backoff: settings.notifyBackoff, attemptTimeout: settings.attemptTimeout, time: time, unit: unit)
        let delivered: Bool
        do {
            try await runner.run(onFailure: { _, _, _ in failures.withLock { $0 += 1 } }) { _ in
                try await notifier.send(batch: notifications)
            }
            delivered = true
        } catch {
            logger.warning(
                "Batched notifications not delivered; telling their users one at a time",
                metadata: ["notify.count": "\(notifications.count)", "error": "\(error)"])
            delivered = false
        }
        let failedAttempts = failures.withLock { $0 }
        for (offset, notification) in notifications.enumerated() where delivered {
            metrics.recordNotification(event: notification.event, delivered: true, failedAttempts: offset == 0 ? failedAttempts : 0)
        }
        return Delivery(delivered: delivered, failedAttempts: failedAttempts)
    }

    /// Archives malformed messages and deletes stale ones.
    private func applyDrops(_ drops: [Drop], into report: inout PassReport) async {
        for drop in drops {
            switch drop.reason {
            case .malformed(let reason):
                logger.warning("Malformed queue message archived", metadata: ["queue.msg_id": "\(drop.msgIDs)", "reason": "\(reason)"])
                if (try? await storeRetry.run({ _ in try await ports.queue.archive(drop.msgIDs) })) != nil {
                    report.malformed += 1
                }
            case .stale:
                if await deleteMessages(drop.msgIDs) { report.stale += 1 }
            }
        }
    }

    private func deleteMessages(_ msgIDs: [Int64]) async -> Bool {
        (try? await storeRetry.run { _ in try await ports.queue.delete(msgIDs) }) != nil
    }

    /// Retries of queue and store calls; without an attempt timeout when both answer in process
    /// (`InProcessPort`), where the timeout's timer task would be pure cost: it could never fire first.
    private var storeRetry: RetryRunner {
        let inProcess = ports.queue is any InProcessPort && ports.store is any InProcessPort
        return RetryRunner(
            backoff: settings.storeBackoff, attemptTimeout: inProcess ? nil : settings.attemptTimeout, time: time, unit: unit)
    }
}

extension Array {
    /// The array in consecutive slices of at most `size` elements.
    func chunked(by size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}

/// The pass could not run. `message` is safe to show callers; `underlying` is for logs only.
public struct PassError: Error, Sendable, CustomStringConvertible {
    /// The caller-facing reason (contract §6 `message`).
    public var message: String
    /// The cause, never echoed to callers.
    public var underlying: any Error

    public var description: String { "\(message): \(underlying)" }
}

/// Room ids for passes: random in production, seeded in fixtures.
public final class RoomIDSource: Sendable {
    private let generator: Mutex<RoomIDGenerator>

    /// A source seeded from the system's random source.
    public init() { generator = Mutex(RoomIDGenerator()) }

    /// A deterministic source.
    public init(seed: UInt64) { generator = Mutex(RoomIDGenerator(seed: seed)) }

    /// The next id.
    public func next() -> String { generator.withLock { $0.next() } }
}

extension Result where Failure == any Error {
    /// The outcome of an async throwing call, as `init(catching:)` is for a synchronous one.
    init(catching body: () async throws -> Success) async {
        do {
            self = .success(try await body())
        } catch {
            self = .failure(error)
        }
    }
}
