import Foundation
import Logging
import PostgresNIO
import Shared

/// Finishes matches whose pass stopped between commit and notification (a crash, a lost connection).
///
/// A committed match leaves a `matchmaker_outbox` row claimed by its pass for `claimSeconds`. Once a
/// claim has run out, a relay claims the row (`FOR UPDATE SKIP LOCKED`, so relays never share one),
/// tells both users about the room, and acknowledges it. After `maxAttempts` claims without both
/// deliveries it undoes the match: the room goes and the consumed messages are queued again.
public struct PostgresOutboxRelay: Sendable {
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

    let client: PostgresClient
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
        client: PostgresClient, notifier: any Notifier, claimSeconds: Int, maxAttempts: Int = 3, runner: RetryRunner, logger: Logger
    ) {
        self.client = client
        self.notifier = notifier
        self.claimSeconds = claimSeconds
        self.maxAttempts = maxAttempts
        self.runner = runner
        self.logger = logger
    }

    /// Claims up to `limit` abandoned matches and delivers or undoes each.
    public func drain(limit: Int = 100) async throws -> Report {
        let claimed = try await database {
            let rows = try await client.query(
                """
                update public.matchmaker_outbox o
                set claimed_until = now() + make_interval(secs => \(claimSeconds)), attempts = o.attempts + 1
                where o.room_id in (
                    select room_id from public.matchmaker_outbox
                    where claimed_until < now()
                    order by created_at
                    limit \(limit)
                    for update skip locked
                )
                returning o.room_id, o.room::text, o.users, o.attempts::int8
                """,
                logger: logger
            )
            var claimed: [(roomID: String, room: String, users: [String], attempts: Int64)] = []
            for try await row in rows.decode((String, String, [String], Int64).self) { claimed.append(row) }
            return claimed
        }
        var report = Report()
        report.claimed = claimed.count
        for entry in claimed {
            var log = logger
            log[metadataKey: "match.room_id"] = "\(entry.roomID)"
            guard let room = try? JSONCoding.decoder.decode(Room.self, from: Data(entry.room.utf8)) else {
                log.error("Outbox row has an unreadable room; undoing it")
                try await undo(entry.roomID, toldUsers: [])
                report.undone += 1
                continue
            }
            var told: [String] = []
            for user in entry.users {
                if await deliver(try UserNotification.matched(user, room: room)) { told.append(user) }
            }
            if told.count == entry.users.count {
                try await database { try await client.command("select public.ack_stranger_match(\(entry.roomID))", logger: logger) }
                log.info("Abandoned match delivered")
                report.delivered += 1
            } else if entry.attempts >= maxAttempts {
                log.warning("Abandoned match undeliverable; undoing it", metadata: ["outbox.attempts": "\(entry.attempts)"])
                try await undo(entry.roomID, toldUsers: told)
                report.undone += 1
            } else {
                report.deferred += 1
            }
        }
        return report
    }

    private func undo(_ roomID: String, toldUsers: [String]) async throws {
        try await database { try await client.command("select public.delete_stranger_room(\(roomID))", logger: logger) }
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
