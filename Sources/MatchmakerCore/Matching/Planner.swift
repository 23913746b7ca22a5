import Foundation
import Shared

/// Decides a pass: a pure function from what was leased and observed to a `Plan` (contract §3).
///
/// Rules, in order:
/// 1. Messages that are not `{"userId", "continent"?}` are set aside as malformed.
/// 2. A user's messages collapse into one candidate at the position of the earliest (FIFO by `msg_id`).
/// 3. With presence known, a user who is not waiting is held, or dropped as stale after `staleAfter`.
///    Without presence (degraded) nobody is dropped for it.
/// 4. Humans pair FIFO within each continent (in order of first appearance), then in a `World` pool of
///    `World` users followed by every leftover. Never with themselves, never within the skip window.
/// 5. A human left over who has waited `botFillAfter` takes the first waiting bot. Bots never pair with bots.
/// 6. Whoever is left and whose newest message is older than `queueTTL` expires; the rest stay queued.
public struct Planner: Sendable {
    /// The time rules.
    public var policy: MatchPolicy

    /// Creates a planner.
    public init(policy: MatchPolicy) { self.policy = policy }

    /// Plans a pass.
    /// - Parameters:
    ///   - rows: the leased queue messages, in any order.
    ///   - presence: the lobby snapshot, or why it is unavailable.
    ///   - skips: `skipped_pair` rows among the leased users (older rows are ignored).
    ///   - bots: ids known to be bots (`user.is_bot`).
    ///   - now: the pass's instant.
    public func plan(rows: [QueueRow], presence: PresenceSnapshot, skips: [Skip], bots: Set<String>, now: Date) -> Plan {
        var plan = Plan(degraded: presence.isUnavailable, messageCount: rows.count)
        let candidates = collapse(rows: rows, presence: presence, bots: bots, drops: &plan.drops)

        let skipHorizon = now.addingTimeInterval(-policy.skipWindow)
        let blocked = Set(skips.lazy.filter { $0.createdAt >= skipHorizon }.map { UserPair($0.userA, $0.userB) })
        func compatible(_ a: Candidate, _ b: Candidate) -> Bool {
            a.userID != b.userID && !blocked.contains(UserPair(a.userID, b.userID))
        }

        var eligible: [Candidate] = []
        var leftover: [Candidate] = []
        for candidate in candidates {
            if case .available = presence, !presence.isWaiting(candidate.userID) {
                if now.timeIntervalSince(candidate.lastEnqueuedAt) >= policy.staleAfter {
                    plan.drops.append(Drop(userID: candidate.userID, msgIDs: candidate.allMsgIDs, reason: .stale))
                } else {
                    leftover.append(candidate)
                }
            } else {
                eligible.append(candidate)
            }
        }

        let humans = eligible.filter { !$0.isBot }
        var waitingBots = eligible.filter(\.isBot)

        var continentOrder: [Continent] = []
        var pools: [Continent: [Candidate]] = [:]
        for human in humans where human.continent != .world {
            if pools[human.continent] == nil { continentOrder.append(human.continent) }
            pools[human.continent, default: []].append(human)
        }
        var worldPool = humans.filter { $0.continent == .world }
        for continent in continentOrder {
            worldPool += pairGreedily(pools[continent]!, compatible: compatible, into: &plan.pairs)
        }
        let unpairedHumans = pairGreedily(worldPool, compatible: compatible, into: &plan.pairs)

        for human in unpairedHumans {
            if now.timeIntervalSince(human.firstEnqueuedAt) >= policy.botFillAfter,
                let index = waitingBots.firstIndex(where: { compatible(human, $0) })
            {
                plan.pairs.append(Pairing(human, waitingBots.remove(at: index), kind: .botFill))
            } else {
                leftover.append(human)
            }
        }
        leftover += waitingBots

        for candidate in leftover.sorted(by: { $0.msgID < $1.msgID }) {
            if now.timeIntervalSince(candidate.lastEnqueuedAt) >= policy.queueTTL {
                plan.expired.append(candidate)
            } else {
                plan.kept.append(candidate)
            }
        }
        return plan
    }

    /// Parses and collapses messages into candidates in FIFO order; malformed ones go to `drops`.
    private func collapse(rows: [QueueRow], presence: PresenceSnapshot, bots: Set<String>, drops: inout [Drop]) -> [Candidate] {
        var order: [String] = []
        var byUser: [String: Candidate] = [:]
        for row in rows.sorted(by: { $0.msgID < $1.msgID }) {
            switch QueuedUser.parse(row.message) {
            case .failure(let malformed):
                drops.append(Drop(userID: nil, msgIDs: [row.msgID], reason: .malformed(malformed.reason)))
            case .success(let user):
                if var existing = byUser[user.userID] {
                    existing.duplicateMsgIDs.append(row.msgID)
                    existing.lastEnqueuedAt = max(existing.lastEnqueuedAt, row.enqueuedAt)
                    byUser[user.userID] = existing
                } else {
                    order.append(user.userID)
                    byUser[user.userID] = Candidate(
                        userID: user.userID, continent: user.continent, msgID: row.msgID,
                        firstEnqueuedAt: row.enqueuedAt, lastEnqueuedAt: row.enqueuedAt, duplicateMsgIDs: [],
                        isBot: bots.contains(user.userID) || presence.looksLikeBot(user.userID)
                    )
                }
            }
        }
        return order.map { byUser[$0]! }
    }

    /// Greedy first-fit in FIFO order: each head takes the earliest compatible partner behind it.
    ///
    /// The pool is kept reversed so that the head and its usual partner sit at the end of the array,
    /// where removal is cheap: the common case costs O(1) per pair.
    private func pairGreedily(
        _ pool: [Candidate], compatible: (Candidate, Candidate) -> Bool, into pairs: inout [Pairing]
    ) -> [Candidate] {
        var stack = Array(pool.reversed())
        var unpaired: [Candidate] = []
        while let head = stack.popLast() {
            if let index = stack.lastIndex(where: { compatible(head, $0) }) {
                pairs.append(Pairing(head, stack.remove(at: index), kind: .humans))
            } else {
                unpaired.append(head)
            }
        }
        return unpaired
    }
}
