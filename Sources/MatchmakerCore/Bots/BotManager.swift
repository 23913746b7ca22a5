import Foundation
import Logging
import ServiceLifecycle
import Shared
import Synchronization

/// Keeps the target number of bots running (contract §8): the target is recomputed every interval, and every
/// `leaseSeconds / 3` the manager renews its identity leases in the bot registry and reconciles what runs.
///
/// Identities are the slots `1...target` (`bot-<profile>-<slot>`), the same in every process: a process runs
/// the identities it holds the lease of, so two processes against one project never run the same identity,
/// and together never more than the target. New bots start one after another with a uniform stagger; a bot
/// whose slot is above the target, or whose lease went to another process, is stopped.
///
/// On graceful shutdown every bot closes its conversation with `room_closed` and leaves, then the manager
/// releases its leases, all before `run()` returns. A process killed outright holds its leases until they end.
public final class BotManager: Service {
    /// What the manager decides with.
    public struct Settings: Sendable, Hashable {
        /// The target formula.
        public var target = BotTarget()
        /// Time between maintenance ticks.
        public var interval: Duration = .seconds(60)
        /// The pause after each start.
        public var stagger = Stagger()
        /// The bots' pauses.
        public var timings = BotTimings()
        /// How long an identity lease lasts unless renewed (`BOT_LEASE_SECONDS`): after a crash, the bound on
        /// how long the matchmaker may still claim its bots, and on how soon another process takes them over.
        public var leaseSeconds = 15

        /// The contract's defaults.
        public init() {}
    }

    /// The numbers of `/stats`.
    public struct Stats: Sendable, Codable, Hashable {
        /// Bots started and not stopping.
        public var totalBots = 0
        /// Bots matched or in a room.
        public var inConversation = 0
        /// Bots idle in the registry, waiting to be claimed.
        public var waiting = 0
        /// Whether the manager runs.
        public var isRunning = false
        /// The last target.
        public var target = 0
        /// Online humans behind the last target, when presence was available.
        public var onlineHumans: Int?
        /// Why the last target kept the count (presence unavailable).
        public var targetNote: String?
        /// Maintenance ticks run.
        public var ticks = 0
        /// Ticks skipped because the previous one overran.
        public var skippedTicks = 0
        /// Bots that failed to start or lost their channels.
        public var failedBots = 0
        /// Bots whose `user` row could not be written, each counted once however often it is retried: they
        /// joined no channel and never became available. A refusal by the table (a 4xx) also sets `halted`.
        public var unwritableBots = 0
        /// The last bot failure.
        public var lastError: String?
        /// Set when a bot failed with a non-retryable error (`UNAUTHORIZED`, …): no more bots are started.
        public var halted: String?
        /// Identities this process holds the lease of.
        public var leased = 0
        /// Lease renewals that failed (the registry was unreachable).
        public var failedRenewals = 0

        /// No bots, not running.
        public init() {}
    }

    private struct Entry {
        var bot: BotInstance
        var phase: BotPhase = .starting
        var stopping = false
    }

    private struct State {
        var bots: [Int: Entry] = [:]
        /// Slots leased and queued to start.
        var starting: Set<Int> = []
        var stats = Stats()
        /// The bots behind `stats.unwritableBots`, so that each is reported once.
        var unwritable: Set<String> = []
    }

    /// The settings.
    public let settings: Settings
    /// The shared Realtime pool.
    public let client: RealtimeClient
    private let store: BotStore
    private let presence: any PresenceSource
    private let time: Timekeeper
    private let logger: Logger
    private let unit: @Sendable () -> Double
    private let state = Mutex(State())
    private let launches: AsyncStream<BotInstance>
    private let launcher: AsyncStream<BotInstance>.Continuation
    private let starts: AsyncStream<Int>
    private let starter: AsyncStream<Int>.Continuation

    /// Creates a manager.
    /// - Parameters:
    ///   - presence: the lobby, to count online humans (a `LobbyObserver` on `client` in production).
    ///   - unit: uniform numbers in `0..<1` for the stagger and the bots' seeds.
    public init(
        settings: Settings, client: RealtimeClient, store: BotStore, presence: any PresenceSource, time: Timekeeper = .system,
        logger: Logger, unit: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.settings = settings
        self.client = client
        self.store = store
        self.presence = presence
        self.time = time
        self.logger = logger
        self.unit = unit
        (launches, launcher) = AsyncStream.makeStream(of: BotInstance.self)
        (starts, starter) = AsyncStream.makeStream(of: Int.self)
    }

    /// The current numbers.
    public var stats: Stats {
        state.withLock { state in
            var stats = state.stats
            let live = state.bots.values.filter { !$0.stopping }
            stats.totalBots = live.count
            stats.inConversation = live.filter { $0.phase == .joiningRoom || $0.phase == .inRoom }.count
            stats.waiting = live.filter { $0.phase == .waiting }.count
            return stats
        }
    }

    /// The phase of every bot by id, for tests and `/stats`.
    public var phases: [String: BotPhase] {
        state.withLock { Dictionary(uniqueKeysWithValues: $0.bots.values.map { ($0.bot.identity.id, $0.phase) }) }
    }

    /// Runs maintenance until graceful shutdown, then stops every bot politely.
    public func run() async throws {
        state.withLock { $0.stats.isRunning = true }
        logger.info(
            "Bot manager started",
            metadata: [
                "bots.min": "\(settings.target.min)", "bots.max": "\(settings.target.max)", "bots.interval": "\(settings.interval)",
            ])
        await withDiscardingTaskGroup { group in
            group.addTask {
                try? await cancelWhenGracefulShutdown { try await self.maintain() }
                self.starter.finish()
            }
            group.addTask {
                // Starts still queued (or a stagger pause) at shutdown are dropped: no bot starts after it began.
                await cancelWhenGracefulShutdown { await self.startQueued() }
                await self.releaseIdle()
                self.stopAll()
                self.launcher.finish()
            }
            for await bot in launches {
                group.addTask { await self.runBot(bot) }
            }
        }
        // Every bot has left: its identity is free for another process at once.
        do { _ = try await store.lease([], seconds: 0) } catch {
            logger.warning("Bot leases not released; they end on their own", metadata: ["error": "\(error)"])
        }
        state.withLock { $0.stats.isRunning = false }
        logger.info("Bot manager stopped")
    }

    private func maintain() async throws {
        var schedule = MaintenanceSchedule(interval: settings.interval, start: time.now())
        let renewal = Double(settings.leaseSeconds) / 3
        while true {
            if schedule.begin(now: time.now()) {
                try await tick()
                schedule.end(now: time.now())
                let skipped = schedule.skipped
                state.withLock {
                    $0.stats.ticks += 1
                    $0.stats.skippedTicks = skipped
                }
            } else {
                await reconcile()
            }
            let untilTick = schedule.nextTick.timeIntervalSince(time.now())
            try await time.sleep(.seconds(double: max(min(untilTick, renewal), 0.001)))
        }
    }

    /// One maintenance tick: compute the target, then reconcile the bots with it.
    public func tick() async throws {
        await updateTarget()
        await reconcile()
    }

    private func updateTarget() async {
        let snapshot = await presence.snapshot()
        // Without presence the target stays where it was: every process keeps the same slots.
        let (current, known) = state.withLock { state in
            (state.stats.target, Set(state.bots.values.map(\.bot.identity.id)))
        }
        let decision = settings.target.decide(presence: snapshot, botIDs: known, current: current)
        state.withLock { state in
            state.stats.target = decision.count
            switch decision {
            case .count(_, let humans):
                state.stats.onlineHumans = humans
                state.stats.targetNote = nil
            case .keep(_, let reason):
                state.stats.onlineHumans = nil
                state.stats.targetNote = "presence unavailable, count kept: \(reason)"
            }
        }
        if case .keep(_, let reason) = decision {
            logger.notice("Lobby presence unavailable; bot count kept", metadata: ["bots.count": "\(current)", "error": "\(reason)"])
        }
    }

    /// Renews this process's leases on the identities it wants (slots `1...target`, and every bot still
    /// running until it has stopped), then starts the bots it holds and does not run, stops those above the
    /// target or whose lease it lost, and repairs claims whose notice never came.
    func reconcile() async {
        let (target, running) = state.withLock { state in
            (state.stats.target, Set(state.bots.keys).union(state.starting))
        }
        let wanted = Set(target > 0 ? Array(1...target) : []).union(running)
        let leases: [BotStore.Lease]
        do {
            leases = try await store.lease(wanted.sorted().map { BotIdentity(slot: $0).id }, seconds: settings.leaseSeconds)
        } catch {
            state.withLock { $0.stats.failedRenewals += 1 }
            logger.warning("Bot leases not renewed", metadata: ["error": "\(error)"])
            return
        }
        let held = Dictionary(uniqueKeysWithValues: leases.compactMap { lease in BotIdentity.slot(of: lease.botID).map { ($0, lease) } })
        let now = time.now()
        let (toStart, toStop, stale) = state.withLock { state in
            state.stats.leased = held.count
            let toStart =
                state.stats.halted == nil
                ? held.keys.filter { $0 <= target && state.bots[$0] == nil && !state.starting.contains($0) }.sorted() : []
            state.starting.formUnion(toStart)
            var toStop: [BotInstance] = []
            for (slot, entry) in state.bots where !entry.stopping && (slot > target || held[slot] == nil) {
                state.bots[slot]?.stopping = true
                toStop.append(entry.bot)
            }
            // Waiting here, yet claimed there for long: the match was undone before the bot heard of it.
            let stale = state.bots.filter { slot, entry in
                entry.phase == .waiting && !entry.stopping
                    && held[slot].map { !$0.idle && ($0.claimedAt ?? now) < now - Self.staleClaim } == true
            }.map(\.value.bot.identity.id)
            return (toStart, toStop, stale)
        }
        for slot in toStart { starter.yield(slot) }
        for bot in toStop { bot.stop() }
        if !toStop.isEmpty { logger.info("Bots stopped", metadata: ["bots.count": "\(toStop.count)"]) }
        if !stale.isEmpty {
            do { try await store.repairClaims(stale, olderThan: Int(Self.staleClaim)) } catch {
                logger.warning("Stale bot claims not repaired", metadata: ["error": "\(error)"])
            }
        }
    }

    /// At shutdown, before the bots stop: gives up the leases of every bot not in a conversation, so that no
    /// pass claims a bot that is leaving (the others are released once they have closed their rooms).
    private func releaseIdle() async {
        let talking = state.withLock { state in
            state.bots.filter { $0.value.phase == .joiningRoom || $0.value.phase == .inRoom }.map { BotIdentity(slot: $0.key).id }
        }
        do { _ = try await store.lease(talking, seconds: settings.leaseSeconds) } catch {
            logger.warning("Idle bots' leases not released before shutdown", metadata: ["error": "\(error)"])
        }
    }

    /// How long a claim may stay unannounced before the manager makes its waiting bot idle again: longer than
    /// a match's notification retries.
    static let staleClaim: TimeInterval = 30

    /// Starts the queued slots one after another, with the stagger between starts.
    private func startQueued() async {
        var first = true
        for await slot in starts {
            if !first, (try? await time.sleep(settings.stagger.delay(unit: unit()))) == nil { break }
            if Task.isCancelled { break }
            first = false
            launch(slot)
        }
    }

    /// Starts the bot of `slot`, whose identity (and `user` row) is the same in every process and every run.
    private func launch(_ slot: Int) {
        let bot = state.withLock { state -> BotInstance in
            state.starting.remove(slot)
            let seed = UInt64(unit() * Double(UInt32.max)) << 32 | UInt64(slot)
            let bot = BotInstance(
                identity: BotIdentity(slot: slot), client: client, store: store, time: time, timings: settings.timings, seed: seed,
                logger: logger,
                observe: { [weak self] phase in self?.state.withLock { $0.bots[slot]?.phase = phase } }
            )
            state.bots[slot] = Entry(bot: bot)
            return bot
        }
        logger.debug("Bot starting", metadata: ["bot.id": "\(bot.identity.id)"])
        launcher.yield(bot)
    }

    private func runBot(_ bot: BotInstance) async {
        do {
            try await bot.run()
        } catch {
            let pattern = ErrorClassifier.classify(error)
            let unwritable = error as? BotUserRowError
            let firstReport = state.withLock { state -> Bool in
                state.stats.failedBots += 1
                state.stats.lastError = "\(error)"
                if !pattern.isRetryable { state.stats.halted = "\(error)" }
                guard let unwritable, state.unwritable.insert(unwritable.botID).inserted else { return unwritable == nil }
                state.stats.unwritableBots = state.unwritable.count
                return true
            }
            let metadata: Logger.Metadata = ["bot.id": "\(bot.identity.id)", "error": "\(error)"]
            switch (unwritable, firstReport) {
            case (nil, _): logger.error("Bot failed", metadata: metadata)
            case (.some, true): logger.error("Bot user row not written: the bot is not started and never available", metadata: metadata)
            case (.some, false): logger.debug("Bot user row still not written", metadata: metadata)
            }
        }
        _ = state.withLock { $0.bots.removeValue(forKey: bot.identity.slot) }
    }

    private func stopAll() {
        let bots = state.withLock { state -> [BotInstance] in
            for slot in state.bots.keys { state.bots[slot]?.stopping = true }
            return state.bots.values.map(\.bot)
        }
        logger.info("Stopping every bot", metadata: ["bots.count": "\(bots.count)"])
        for bot in bots { bot.stop() }
    }
}
