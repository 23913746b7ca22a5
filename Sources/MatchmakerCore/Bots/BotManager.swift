import Foundation
import Logging
import ServiceLifecycle
import Shared
import Synchronization

/// Keeps the target number of bots running (contract §8): a maintenance tick every interval, never two at once,
/// new bots started one after another with a uniform stagger, excess bots stopped idle-first.
///
/// On graceful shutdown every bot closes its conversation with `room_closed` and leaves before `run()` returns.
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

        /// The contract's defaults.
        public init() {}
    }

    /// The numbers of `/stats`.
    public struct Stats: Sendable, Codable, Hashable {
        /// Bots started and not stopping.
        public var totalBots = 0
        /// Bots matched or in a room.
        public var inConversation = 0
        /// Bots queued and waiting.
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
        /// Bots whose `user` row could not be written, each counted once however often it is retried: they never
        /// joined the lobby or the queue. A refusal by the table (a 4xx) also sets `halted`.
        public var unwritableBots = 0
        /// The last bot failure.
        public var lastError: String?
        /// Set when a bot failed with a non-retryable error (`UNAUTHORIZED`, …): no more bots are started.
        public var halted: String?

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
                self.stopAll()
                self.launcher.finish()
            }
            for await bot in launches {
                group.addTask { await self.runBot(bot) }
            }
        }
        state.withLock { $0.stats.isRunning = false }
        logger.info("Bot manager stopped")
    }

    private func maintain() async throws {
        var schedule = MaintenanceSchedule(interval: settings.interval, start: time.now())
        while true {
            if schedule.begin(now: time.now()) {
                try await tick()
                schedule.end(now: time.now())
                let skipped = schedule.skipped
                state.withLock {
                    $0.stats.ticks += 1
                    $0.stats.skippedTicks = skipped
                }
            }
            try await time.sleep(.seconds(double: max(schedule.nextTick.timeIntervalSince(time.now()), 0.001)))
        }
    }

    /// One maintenance tick: compute the target, start the missing bots with the stagger, stop the excess.
    public func tick() async throws {
        let snapshot = await presence.snapshot()
        let (current, known, halted) = state.withLock { state in
            let live = state.bots.values.filter { !$0.stopping }
            return (live.count, Set(state.bots.values.map(\.bot.identity.id)), state.stats.halted)
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
        if decision.count > current {
            if let halted {
                logger.debug("Bot starts halted", metadata: ["error": "\(halted)"])
                return
            }
            for index in 0..<(decision.count - current) {
                if index > 0 { try await time.sleep(settings.stagger.delay(unit: unit())) }
                launch()
            }
        } else if decision.count < current {
            let chosen = state.withLock { state -> [BotInstance] in
                let live = state.bots.filter { !$0.value.stopping }.map { (slot: $0.key, phase: $0.value.phase) }
                let slots = StopOrder.choose(excess: current - decision.count, from: live)
                for slot in slots { state.bots[slot]?.stopping = true }
                return slots.compactMap { state.bots[$0]?.bot }
            }
            for bot in chosen { bot.stop() }
            logger.info("Excess bots stopped", metadata: ["bots.count": "\(chosen.count)"])
        }
    }

    /// Starts a bot in the lowest free slot, so that identities (and `user` rows) are reused.
    private func launch() {
        let bot = state.withLock { state -> BotInstance in
            var free = 1
            while state.bots[free] != nil { free += 1 }
            let slot = free
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
            case (.some, true): logger.error("Bot user row not written: the bot is not started and not queued", metadata: metadata)
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
