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

/// Rooms, skips and users: the tables a pass reads and writes.
public protocol MatchStore: Sendable {
    /// `skipped_pair` rows involving any of `users` created at or after `since`, in one round trip.
    func recentSkips(among users: [String], since: Date) async throws -> [Skip]
    /// Which of `users` are bots (`user.is_bot = true`), in one round trip.
    func botIDs(among users: [String]) async throws -> Set<String>
    /// Writes the room and its two members atomically: all or nothing.
    func createRoom(_ room: Room, members: [String]) async throws
    /// Deletes a room and its members (undo after a failed notification).
    func deleteRoom(id: String) async throws
    /// Writes the room and its members and, where the store holds the queue, consumes the pair's
    /// leased messages `msgIDs` (and the users' other messages) in the same transaction.
    /// - Returns: true when the messages were consumed here, so the pass need not delete them.
    func commitRoom(_ room: Room, members: [String], consuming msgIDs: [Int64]) async throws -> Bool
    /// Both users of the room were told: a store that keeps pending notifications forgets this one.
    func roomNotified(id: String) async throws
}

extension MatchStore {
    /// Stores that do not hold the queue write the room alone; the pass deletes the messages later.
    public func commitRoom(_ room: Room, members: [String], consuming msgIDs: [Int64]) async throws -> Bool {
        try await createRoom(room, members: members)
        return false
    }

    /// Stores without pending notifications have nothing to forget.
    public func roomNotified(id: String) async throws {}
}

/// Delivers one notification attempt; retries are the pass's job.
public protocol Notifier: Sendable {
    /// Sends `notification` once; returns only when it was accepted (2xx).
    func send(_ notification: UserNotification) async throws
}

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
