import Foundation
import Shared

/// A `matchmaker_bot` row: who runs a bot identity, until when, and whether the matchmaker may claim it.
public struct RegisteredBot: Sendable, Hashable {
    /// The bot's `user.id`.
    public var botID: String
    /// The bots process that holds the identity.
    public var owner: String
    /// The lease ends here unless its owner renews it.
    public var leaseUntil: Date
    /// Ready to be matched.
    public var idle: Bool
    /// The room the matchmaker claimed the bot for.
    public var roomID: String?
    /// When it was claimed.
    public var claimedAt: Date?

    /// Claimed by a commit for `roomID`.
    mutating func claim(roomID: String, at now: Date) {
        idle = false
        self.roomID = roomID
        claimedAt = now
    }
}

/// The bot registry's RPCs (`20260701000008_bot_registry.sql`), one critical section each.
extension EmbeddedStore {
    /// `public.lease_bots`: releases `owner`'s identities not in `botIDs`, renews those it holds, takes over
    /// those that are free or whose lease ended (reset to not idle), leaves the others alone; returns `owner`'s rows.
    public func leaseBots(owner: String, botIDs: [String], leaseSeconds: Int) -> [RegisteredBot] {
        let now = time.now()
        let until = now.addingTimeInterval(TimeInterval(leaseSeconds))
        let wanted = Set(botIDs)
        return database.withLock { state in
            state.bots = state.bots.filter { $0.value.owner != owner || wanted.contains($0.key) }
            for id in wanted {
                switch state.bots[id] {
                case .some(let row) where row.owner == owner:
                    state.bots[id]?.leaseUntil = until
                case .some(let row) where row.leaseUntil > now:
                    continue
                default:
                    state.bots[id] = RegisteredBot(botID: id, owner: owner, leaseUntil: until, idle: false)
                }
            }
            return state.bots.values.filter { $0.owner == owner }.sorted { $0.botID < $1.botID }
        }
    }

    /// `public.ready_bots`: `owner`'s bots among `botIDs` with a live lease, not idle, become idle if they are
    /// still in `finishedRoom` (the room the bot just left; nil for none), so that a retry can never undo a
    /// claim made after its first attempt; with `staleClaimSeconds`, instead, those claimed longer ago than
    /// that (a claim whose notice never came). Returns how many changed.
    public func readyBots(owner: String, botIDs: [String], staleClaimSeconds: Int? = nil, finishedRoom: String? = nil) -> Int {
        let now = time.now()
        return database.withLock { state in
            var changed = 0
            for id in Set(botIDs) {
                guard let row = state.bots[id], row.owner == owner, row.leaseUntil > now, !row.idle else { continue }
                if let stale = staleClaimSeconds {
                    guard let claimed = row.claimedAt, claimed < now.addingTimeInterval(-TimeInterval(stale)) else { continue }
                } else {
                    guard row.roomID == finishedRoom else { continue }
                }
                state.bots[id]?.idle = true
                state.bots[id]?.roomID = nil
                state.bots[id]?.claimedAt = nil
                changed += 1
            }
            return changed
        }
    }

    /// `public.idle_bots`: up to `limit` idle bots with a live lease, in random order.
    public func idleBots(limit: Int) -> [String] {
        let now = time.now()
        let idle = database.withLock { state in
            state.bots.values.filter { $0.idle && $0.leaseUntil > now }.map(\.botID)
        }
        return Array(idle.shuffled().prefix(max(limit, 0)))
    }

    /// Every registry row, by bot id (tests and `/stats`).
    public var registeredBots: [String: RegisteredBot] {
        database.withLock { $0.bots }
    }
}
