import Foundation
import Shared

/// The queue a pass leases from (pgmq semantics: a read hides messages for the lease; delete is final).
public protocol MatchQueue: Sendable {
    /// Reads up to `count` visible messages and hides them for `leaseSeconds` (pgmq's visibility timeout).
    func lease(count: Int, leaseSeconds: Int) async throws -> [QueueRow]
    /// Deletes messages; unknown ids are ignored.
    func delete(_ msgIDs: [Int64]) async throws
    /// Moves messages to the queue's archive; unknown ids are ignored.
    func archive(_ msgIDs: [Int64]) async throws
    /// Ends this pass's lease on messages it keeps, so the next pass sees them at once.
    ///
    /// Only messages still leased until `leasedUntil` or earlier are made visible: a message whose
    /// lease already ended and that another reader leased again keeps that reader's lease.
    /// - Returns: how many messages were released.
    func release(_ msgIDs: [Int64], leasedUntil: Date) async throws -> Int
}

/// Who is waiting in the lobby.
public protocol PresenceSource: Sendable {
    /// The lobby's presence, or `.unavailable` with a reason; never throws, so a pass can degrade.
    func snapshot() async -> PresenceSnapshot
}

/// Rooms, skips and users: what a pass reads, and the one atomic commit that writes a match.
public protocol MatchStore: Sendable {
    /// `skipped_pair` rows involving any of `users` created at or after `since`, in one round trip.
    func recentSkips(among users: [String], since: Date) async throws -> [Skip]
    /// Which of `users` are bots (`user.is_bot = true`), in one round trip.
    func botIDs(among users: [String]) async throws -> Set<String>
    /// Commits `match` in one transaction, all or nothing: writes the room and its two members, consumes
    /// the pair's leased messages and every other message of both users, and records the match as pending
    /// (claimed by this pass for `match.claimSeconds`) until `roomNotified` or `deleteRoom`.
    ///
    /// Fails, leaving nothing behind, when either user lost its lease or the pair skipped each other
    /// within `match.skipWindowSeconds`.
    func commit(_ match: MatchCommit) async throws
    /// Up to `limit` registered bots that are idle with a live lease (`idle_bots`, `docs/contract.md` §8), in
    /// random order, so that concurrent matchmakers seldom reach for the same bot.
    func idleBots(limit: Int) async throws -> [String]
    /// Both users of the room were told: the pending match is settled.
    func roomNotified(id: String) async throws
    /// Undoes a committed match: deletes the room and its members and, while the match is pending,
    /// queues the consumed messages again under their own ids, visible at once.
    func deleteRoom(id: String) async throws
}

extension MatchStore {
    /// A store without a bot registry has no idle registered bots.
    public func idleBots(limit: Int) async throws -> [String] { [] }
}

/// What became of one match of a set-wise commit (`commit_stranger_matches`).
public enum MatchCommitOutcome: Sendable, Hashable {
    /// Committed and pending: the pass tells both users, then acknowledges (`roomsNotified`).
    case committed
    /// Committed with its notifications stored in the same transaction (`realtime.send`): settled.
    case committedAndNotified
    /// Not committed, nothing written: `code` is the SQLSTATE the single-match commit raises
    /// (`MM001` lease lost, `MM002` skipped within the window, `MM003` a user twice, `MM004` a registered bot
    /// not idle or its lease ended, `23503` a user unknown,
    /// `23505` the room id taken).
    case rejected(code: String)
}

/// A store that commits all the matches of a pass in one round trip (`commit_stranger_matches`), each
/// match still all or nothing on its own, and reads a pass's skips and bots together.
public protocol BatchMatchStore: MatchStore {
    /// Commits `matches` at once; one outcome per match, in order. A match that cannot commit is
    /// rejected alone; the others commit. Throws only when the call as a whole failed (nothing written).
    func commit(batch matches: [MatchCommit]) async throws -> [MatchCommitOutcome]
    /// Both users of each room were told: their pending matches are settled, in one round trip.
    func roomsNotified(ids: [String]) async throws
    /// `recentSkips(among:since:)` and `botIDs(among:)` in as few round trips as the store allows; each
    /// fails on its own where they are separate requests, both together where they are one statement.
    func passLookups(among users: [String], since: Date) async -> (skips: Result<[Skip], any Error>, bots: Result<Set<String>, any Error>)
}

/// A notifier that carries many notifications in one request (Realtime's REST broadcast takes a list).
public protocol BatchNotifier: Notifier {
    /// The most notifications one `send(batch:)` carries.
    var maxBatchSize: Int { get }
    /// Sends `notifications` in one attempt, all or nothing; returns only when all were accepted (2xx).
    func send(batch notifications: [UserNotification]) async throws
}

/// Delivers one notification attempt; retries are the pass's job.
public protocol Notifier: Sendable {
    /// Sends `notification` once; returns only when it was accepted (2xx).
    func send(_ notification: UserNotification) async throws
}

/// A queue or store that answers from this process's memory, without waiting on I/O: its calls return
/// before any attempt timeout could, so a pass runs them without one (no timer task per call).
public protocol InProcessPort {}

/// The four ports a pass runs against. Backends mix them (SQL for data, Supabase for Realtime), so
/// they are held as existentials: the heterogeneity is real.
public struct MatchPorts: Sendable {
    /// The queue.
    public var queue: any MatchQueue
    /// Lobby presence.
    public var presence: any PresenceSource
    /// Rooms, skips and users.
    public var store: any MatchStore
    /// Notifications to `user:<id>`.
    public var notifier: any Notifier

    /// Bundles the ports.
    public init(queue: any MatchQueue, presence: any PresenceSource, store: any MatchStore, notifier: any Notifier) {
        self.queue = queue
        self.presence = presence
        self.store = store
        self.notifier = notifier
    }
}
