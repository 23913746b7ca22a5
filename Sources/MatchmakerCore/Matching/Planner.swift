import Foundation
import Shared

/// Decides a pass: a pure function from what was leased and observed to a `Plan` (contract §3).
///
/// Rules, in order (1 and 2 are applied once per pass, by `LeasedUsers`):
/// 1. Messages that are not `{"userId", "continent"?}` are set aside as malformed.
/// 2. A user's messages collapse into one candidate at the position of the earliest (FIFO by `msg_id`).
/// 3. With presence known, a user who is not waiting is held, or dropped as stale after `staleAfter`.
///    Without presence (degraded) nobody is dropped for it.
/// 4. Humans pair FIFO within each continent (in order of first appearance), then in a `World` pool of
///    `World` users followed by every leftover. Never with themselves, never within the skip window.
/// 5. A human left over who has waited `botFillAfter` takes the first waiting bot of the queue, else the first
///    idle registered bot (`idleBots`) it has not skipped within the window. Bots never pair with bots.
/// 6. Whoever is left and whose newest message is older than `queueTTL` expires; the rest stay queued.
///    The earliest moment a kept, waiting human becomes bot-eligible is `Plan.botFillDueAt`.
///
/// Planning is O(n log n) in the leased messages: users are numbered once, and every later step works
/// on those numbers, so a compatibility check costs no string hashing.
public struct Planner: Sendable {
    /// The time rules.
    public var policy: MatchPolicy

    /// Creates a planner.
    public init(policy: MatchPolicy) { self.policy = policy }

    /// Plans a pass.
    /// - Parameters:
    ///   - leased: the leased queue messages, parsed.
    ///   - presence: the lobby snapshot, or why it is unavailable.
    ///   - skips: `skipped_pair` rows among the leased users (older rows are ignored).
    ///   - bots: ids known to be bots (`user.is_bot`).
    ///   - idleBots: registered bots that are idle (`MatchStore.idleBots`), in the order to try them.
    ///   - now: the pass's instant.
    public func plan(
        _ leased: LeasedUsers, presence: PresenceSnapshot, skips: [Skip], bots: Set<String>, idleBots: [String] = [], now: Date
    ) -> Plan {
        var plan = Plan(degraded: presence.isUnavailable, messageCount: leased.messageCount)
        plan.drops = leased.malformed
        var users = UserTable(leased, presence: presence, bots: bots)
        users.block(skips, since: now.addingTimeInterval(-policy.skipWindow))

        var humans: [Int] = []
        var waitingBots: [Int] = []
        var leftover: [Int] = []
        for index in users.candidates.indices {
            let candidate = users.candidates[index]
            if users.isWaiting[index] {
                if candidate.isBot { waitingBots.append(index) } else { humans.append(index) }
            } else if now.timeIntervalSince(candidate.lastEnqueuedAt) >= policy.staleAfter {
                plan.drops.append(Drop(userID: candidate.userID, msgIDs: candidate.allMsgIDs, reason: .stale))
            } else {
                leftover.append(index)
            }
        }

        // In order of first appearance; a short list, since there are only a few continents.
        var pools: [(continent: Continent, members: [Int])] = []
        var worldPool: [Int] = []
        for index in humans {
            let continent = users.candidates[index].continent
            if continent == .world {
                worldPool.append(index)
            } else if let slot = pools.firstIndex(where: { $0.continent == continent }) {
                pools[slot].members.append(index)
            } else {
                pools.append((continent, [index]))
            }
        }
        var pairs: [(Int, Int, Pairing.Kind)] = []
        for pool in pools {
            worldPool += pairGreedily(pool.members, users: users, into: &pairs)
        }
        let unpairedHumans = pairGreedily(worldPool, users: users, into: &pairs)

        var botFillDue: [Int: Date] = [:]
        // A registered bot that is also queued (the app's skip re-enqueues a bot) is taken from the queue only.
        var registered = idleBots.filter { !users.isLeased($0) }
        var registryFills: [(Int, String)] = []
        for human in unpairedHumans {
            let eligibleAt = users.candidates[human].firstEnqueuedAt.addingTimeInterval(policy.botFillAfter)
            if eligibleAt > now {
                leftover.append(human)
                botFillDue[human] = eligibleAt
            } else if let slot = waitingBots.firstIndex(where: { users.compatible(human, $0) }) {
                pairs.append((human, waitingBots.remove(at: slot), .botFill))
            } else if let slot = registered.firstIndex(where: { !users.skipped(human, $0) }) {
                registryFills.append((human, registered.remove(at: slot)))
            } else {
                leftover.append(human)
                plan.botFillWanted += 1
            }
        }
        leftover += waitingBots

        plan.pairs = pairs.map { Pairing(users.candidates[$0.0], users.candidates[$0.1], kind: $0.2) }
        plan.pairs += registryFills.map { Pairing(users.candidates[$0.0], .registered($0.1, now: now), kind: .botFill) }
        // Candidates are numbered in FIFO order, so sorting numbers sorts by msg_id.
        for index in leftover.sorted() {
            let candidate = users.candidates[index]
            if now.timeIntervalSince(candidate.lastEnqueuedAt) >= policy.queueTTL {
                plan.expired.append(candidate)
            } else {
                plan.kept.append(candidate)
                if let due = botFillDue[index] { plan.botFillDueAt = min(plan.botFillDueAt ?? due, due) }
            }
        }
        return plan
    }

    /// Greedy first-fit in FIFO order: each head takes the earliest compatible partner behind it.
    ///
    /// The pool is kept reversed so that the head and its usual partner sit at the end of the array,
    /// where removal is cheap: the common case costs O(1) per pair.
    private func pairGreedily(_ pool: [Int], users: UserTable, into pairs: inout [(Int, Int, Pairing.Kind)]) -> [Int] {
        var stack = Array(pool.reversed())
        var unpaired: [Int] = []
        while let head = stack.popLast() {
            if let slot = stack.lastIndex(where: { users.compatible(head, $0) }) {
                pairs.append((head, stack.remove(at: slot), .humans))
            } else {
                unpaired.append(head)
            }
        }
        return unpaired
    }
}

/// The leased users, numbered in FIFO order, with what the planner needs to know about each.
private struct UserTable {
    var candidates: [Candidate] = []
    /// Waiting in the lobby, or presence unknown (degraded: everyone counts as waiting).
    var isWaiting: [Bool] = []
    private var numbers: [String: Int] = [:]
    private var hasSkips: [Bool] = []
    private var blocked: Set<Int> = []
    /// Recent skips between a leased user (by number) and someone not leased (a registered bot).
    private var blockedOutside: Set<OutsideSkip> = []

    private struct OutsideSkip: Hashable {
        var number: Int
        var other: String
    }

    /// The leased users with what presence and the bot lookup say about them.
    init(_ leased: LeasedUsers, presence: PresenceSnapshot, bots: Set<String>) {
        candidates = leased.candidates
        numbers = leased.numbers
        // Presence in its own pass over the numbered users: one lookup each. Degraded: everyone counts as waiting.
        isWaiting = Array(repeating: true, count: candidates.count)
        if case .available(let state) = presence {
            for number in candidates.indices {
                let lobby = PresenceSnapshot.status(of: state[candidates[number].userID] ?? [])
                isWaiting[number] = lobby.isWaiting
                candidates[number].isBot = lobby.isBot
            }
        }
        // The bot ids are among the leased users (`MatchStore.botIDs(among:)`): one lookup per bot, none per human.
        for bot in bots {
            if let number = numbers[bot] { candidates[number].isBot = true }
        }
        hasSkips = Array(repeating: false, count: candidates.count)
    }

    /// Records the skips at or after `since` between leased users.
    mutating func block(_ skips: [Skip], since: Date) {
        for skip in skips where skip.createdAt >= since {
            switch (numbers[skip.userA], numbers[skip.userB]) {
            case (let a?, nil): blockedOutside.insert(OutsideSkip(number: a, other: skip.userB))
            case (nil, let b?): blockedOutside.insert(OutsideSkip(number: b, other: skip.userA))
            default: break
            }
            guard let a = numbers[skip.userA], let b = numbers[skip.userB] else { continue }
            hasSkips[a] = true
            hasSkips[b] = true
            blocked.insert(key(a, b))
        }
    }

    /// Two different users who have not skipped each other within the window.
    func compatible(_ a: Int, _ b: Int) -> Bool {
        a != b && !(hasSkips[a] && hasSkips[b] && blocked.contains(key(a, b)))
    }

    /// Whether leased user `number` and `other`, who is not leased, skipped each other within the window.
    func skipped(_ number: Int, _ other: String) -> Bool {
        blockedOutside.contains(OutsideSkip(number: number, other: other))
    }

    /// Whether `userID` is among the leased users.
    func isLeased(_ userID: String) -> Bool { numbers[userID] != nil }

    private func key(_ a: Int, _ b: Int) -> Int { min(a, b) * candidates.count + max(a, b) }
}
