import Foundation
import Logging
import Shared

/// The pending matches a committing store keeps (`matchmaker_outbox`): claimed, acknowledged or undone.
public protocol MatchOutbox: Sendable {
    /// Claims up to `limit` matches whose claim ran out, for `claimSeconds`; no two relays get the same one.
    func claimAbandoned(limit: Int, claimSeconds: Int) async throws -> [AbandonedMatch]
    /// Both users were told (`ack_stranger_match`).
    func acknowledge(roomID: String) async throws
    /// Deletes the room and queues the consumed messages again (`delete_stranger_room`).
    func undo(roomID: String) async throws
}

/// Finishes matches whose pass stopped between commit and notification (a crash, a lost connection).
///
/// A committed match leaves an outbox row claimed by its pass for `claimSeconds`. Once a claim has run
/// out, a relay claims the row, tells both users about the room, and acknowledges it. After
/// `maxAttempts` claims without both deliveries it undoes the match: the room goes, the consumed
/// messages are queued again, and a user who was told gets `stranger_skipped`.
public struct OutboxRelay: Sendable {
    /// What one drain did.
    public struct Report: Sendable, Hashable {
        /// Rows claimed.
        public var claimed = 0
        /// Matches whose users were both told.
        public var delivered = 0
        /// Matches undone after their last attempt.
        public var undone = 0
        /// Matches left for a later drain.
        public var deferred = 0

        /// An empty report.
        public init() {}
    }

    let outbox: any MatchOutbox
    let notifier: any Notifier
    let claimSeconds: Int
    let maxAttempts: Int
    let runner: RetryRunner
    let logger: Logger

    /// Creates a relay.
    /// - Parameters:
    ///   - claimSeconds: how long a claimed row stays with this relay.
    ///   - maxAttempts: claims after which an undelivered match is undone.
    ///   - runner: retries of each notification.
    public init(
        outbox: any MatchOutbox, notifier: any Notifier, claimSeconds: Int, maxAttempts: Int = 3, runner: RetryRunner, logger: Logger
    ) {
        self.outbox = outbox
        self.notifier = notifier
        self.claimSeconds = claimSeconds
        self.maxAttempts = maxAttempts
        self.runner = runner
        self.logger = logger
    }

    /// Claims up to `limit` abandoned matches and delivers or undoes each.
    public func drain(limit: Int = 100) async throws -> Report {
        let claimed = try await outbox.claimAbandoned(limit: limit, claimSeconds: claimSeconds)
        var report = Report()
        report.claimed = claimed.count
        for match in claimed {
            var log = logger
            log[metadataKey: "match.room_id"] = "\(match.roomID)"
            guard let room = match.room else {
                log.error("Outbox row has an unreadable room; undoing it")
                try await undo(match.roomID, toldUsers: [])
                report.undone += 1
                continue
            }
            var told: [String] = []
            for user in match.users {
                if await deliver(try UserNotification.matched(user, room: room)) { told.append(user) }
            }
            if told.count == match.users.count {
                try await outbox.acknowledge(roomID: match.roomID)
                log.info("Abandoned match delivered")
                report.delivered += 1
            } else if match.attempts >= maxAttempts {
                log.warning("Abandoned match undeliverable; undoing it", metadata: ["outbox.attempts": "\(match.attempts)"])
                try await undo(match.roomID, toldUsers: told)
                report.undone += 1
            } else {
                report.deferred += 1
            }
        }
        return report
    }

    private func undo(_ roomID: String, toldUsers: [String]) async throws {
        try await outbox.undo(roomID: roomID)
        for user in toldUsers { _ = await deliver(.skipped(user)) }
    }

    private func deliver(_ notification: UserNotification) async -> Bool {
        do {
            try await runner.run { _ in try await notifier.send(notification) }
            return true
        } catch {
            logger.warning(
                "Relay notification not delivered",
                metadata: ["realtime.topic": "\(notification.topic)", "notify.event": "\(notification.event)", "error": "\(error)"]
            )
            return false
        }
    }
}
