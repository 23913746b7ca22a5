import Foundation
import Shared
import Synchronization

/// The embedded backend's whole state behind one lock: the pgmq queues, the tables, the match outbox and the
/// bot registry.
///
/// One lock plays the part of one PostgreSQL transaction: `commit_stranger_match` consumes queue
/// messages and writes tables in a single critical section, so no caller ever sees half a match.
final class EmbeddedDatabase: Sendable {
    /// One pgmq queue: `pgmq.q_<name>` and `pgmq.a_<name>`.
    struct Queue: Sendable {
        var nextID: Int64 = 1
        /// Live messages, in `msg_id` order.
        var rows: [QueueRow] = []
        var archive: [QueueRow] = []
    }

    /// A `matchmaker_outbox` row: a match whose users are not yet known to be told.
    struct PendingMatch: Sendable {
        var queueName: String
        var room: Room
        var users: [String]
        /// The queue rows the match consumed, restored if the room is undone.
        var messages: [QueueRow]
        var claimedUntil: Date
        /// Claims by relays so far.
        var attempts = 0
        /// When the match was committed: relays take the oldest first.
        var createdAt: Date
    }

    /// Everything the lock guards.
    struct State: Sendable {
        var queues: [String: Queue] = [:]
        var tables = EmbeddedTables()
        var outbox: [String: PendingMatch] = [:]
        /// `matchmaker_bot`: the bot registry, by bot id.
        var bots: [String: RegisteredBot] = [:]
    }

    private let state: Mutex<State>

    /// Creates the state with empty queues named `queues` and empty tables.
    init(queues: [String] = []) {
        state = Mutex(State(queues: Dictionary(uniqueKeysWithValues: queues.map { ($0, Queue()) })))
    }

    /// Runs `body` inside the one critical section, mutating the state in place.
    func withLock<T: Sendable>(_ body: (inout State) -> T) -> T {
        state.withLock { body(&$0) }
    }

    /// Runs `body` inside the one critical section on a draft that replaces the state only if `body`
    /// returns: a throwing body leaves everything as it found it, like a rolled-back transaction.
    func transaction<T: Sendable, E: Error>(_ body: (inout State) throws(E) -> T) throws(E) -> T {
        try state.withLock { current throws(E) -> T in
            var draft = current
            let result = try body(&draft)
            current = draft
            return result
        }
    }
}
