import Foundation
import Shared
import Synchronization

/// pgmq's semantics in memory: FIFO `msg_id`s per queue, visibility timeouts, `read_ct`, archive.
///
/// Every operation is one short critical section of the backend's `EmbeddedDatabase`; `read` is
/// atomic the way pgmq's `FOR UPDATE SKIP LOCKED` is, so two concurrent readers never lease the same message.
public final class EmbeddedPgmq: Sendable {
    /// How much the stand-in holds, since it holds it in memory: pgmq itself sets no bound.
    public struct Limits: Sendable, Hashable {
        /// Messages one queue may hold (visible, leased or delayed); a send beyond it is refused.
        public var maxQueueLength = 100_000
        /// Messages one `send_batch` call may carry.
        public var maxBatch = 1_000

        /// The defaults.
        public init() {}
    }

    let database: EmbeddedDatabase
    private let time: Timekeeper
    private let faults: EmbeddedFaults
    /// The bounds on what it holds.
    public let limits: Limits
    private let sendObservers = Mutex<[@Sendable (String) -> Void]>([])

    /// Creates the store with the given queues.
    public convenience init(
        queues names: [String], time: Timekeeper, faults: EmbeddedFaults = EmbeddedFaults(), limits: Limits = Limits()
    ) {
        self.init(database: EmbeddedDatabase(queues: names), time: time, faults: faults, limits: limits)
    }

    /// Creates the queue side of a shared database.
    init(database: EmbeddedDatabase, time: Timekeeper, faults: EmbeddedFaults, limits: Limits = Limits()) {
        self.database = database
        self.time = time
        self.faults = faults
        self.limits = limits
    }

    /// Calls `observer` with the queue's name after every successful `send` and `send_batch` (from the REST RPC
    /// or in process). The observer runs on the sender's task, outside the queue's lock: it must be quick.
    public func onSend(_ observer: @escaping @Sendable (String) -> Void) {
        sendObservers.withLock { $0.append(observer) }
    }

    /// `pgmq.send`: appends a message, visible after `delay` seconds; returns its id.
    public func send(_ queue: String, message: JSONValue, delay: Int = 0) throws -> Int64 {
        try sendBatch(queue, messages: [message], delay: delay)[0]
    }

    /// `pgmq.send_batch`: appends messages in order; returns their ids.
    /// - Throws: `PgmqError.batchTooLarge` over `limits.maxBatch` messages, `PgmqError.queueFull` when the
    ///   queue would hold more than `limits.maxQueueLength`; nothing is appended then.
    public func sendBatch(_ queue: String, messages: [JSONValue], delay: Int = 0) throws -> [Int64] {
        guard messages.count <= limits.maxBatch else { throw PgmqError.batchTooLarge(messages.count, limit: limits.maxBatch) }
        let now = time.now()
        let limit = limits.maxQueueLength
        let ids: [Int64]? = try withQueue(queue) { state in
            guard state.rows.count + messages.count <= limit else { return nil }
            return messages.map { message in
                let id = state.nextID
                state.nextID += 1
                state.rows.append(
                    QueueRow(
                        msgID: id, readCount: 0, enqueuedAt: now, visibleAt: now.addingTimeInterval(TimeInterval(max(delay, 0))),
                        message: message)
                )
                return id
            }
        }
        guard let ids else { throw PgmqError.queueFull(queue, limit: limit) }
        for observer in sendObservers.withLock({ $0 }) { observer(queue) }
        return ids
    }

    /// Appends a message with a given send time: fixtures use it to seed a queue with ages.
    public func insert(_ queue: String, message: JSONValue, enqueuedAt: Date, readCount: Int = 0) throws -> Int64 {
        try withQueue(queue) { state in
            let id = state.nextID
            state.nextID += 1
            state.rows.append(QueueRow(msgID: id, readCount: readCount, enqueuedAt: enqueuedAt, visibleAt: enqueuedAt, message: message))
            return id
        }
    }

    /// `pgmq.read`: up to `count` visible messages in `msg_id` order, hidden for `visibilityTimeout` seconds.
    public func read(_ queue: String, visibilityTimeout: Int, count: Int) throws -> [QueueRow] {
        try faults.check(.read)
        let now = time.now()
        return try withQueue(queue) { state in
            var leased: [QueueRow] = []
            for index in state.rows.indices where leased.count < count && state.rows[index].visibleAt <= now {
                state.rows[index].readCount += 1
                state.rows[index].visibleAt = now.addingTimeInterval(TimeInterval(visibilityTimeout))
                leased.append(state.rows[index])
            }
            return leased
        }
    }

    /// `pgmq.pop`: reads and deletes the first visible message.
    public func pop(_ queue: String) throws -> [QueueRow] {
        let now = time.now()
        return try withQueue(queue) { state in
            guard let index = state.rows.firstIndex(where: { $0.visibleAt <= now }) else { return [] }
            return [state.rows.remove(at: index)]
        }
    }

    /// `pgmq.delete`: true when the message existed.
    public func delete(_ queue: String, msgID: Int64) throws -> Bool {
        try faults.check(.delete)
        return try withQueue(queue) { state in
            guard let index = state.rows.firstIndex(where: { $0.msgID == msgID }) else { return false }
            state.rows.remove(at: index)
            return true
        }
    }

    /// `pgmq.archive`: moves the message to the archive; true when it existed. The archive keeps the newest
    /// `limits.maxQueueLength` messages, so sending and archiving in a loop cannot grow it without end.
    public func archive(_ queue: String, msgID: Int64) throws -> Bool {
        let limit = limits.maxQueueLength
        return try withQueue(queue) { state in
            guard let index = state.rows.firstIndex(where: { $0.msgID == msgID }) else { return false }
            state.archive.append(state.rows.remove(at: index))
            if state.archive.count > limit { state.archive.removeFirst(state.archive.count - limit) }
            return true
        }
    }

    /// `public.release_stranger_messages`: makes the messages leased until `leasedUntil` or earlier
    /// visible now; returns how many were released.
    public func release(_ queue: String, msgIDs: [Int64], leasedUntil: Date) throws -> Int {
        let now = time.now()
        let wanted = Set(msgIDs)
        // Compared in whole microseconds, as PostgreSQL stores timestamps and PostgREST prints them.
        func micros(_ date: Date) -> Double { (date.timeIntervalSince1970 * 1_000_000).rounded() }
        return try withQueue(queue) { state in
            var released = 0
            for index in state.rows.indices
            where wanted.contains(state.rows[index].msgID) && state.rows[index].visibleAt > now
                && micros(state.rows[index].visibleAt) <= micros(leasedUntil)
            {
                state.rows[index].visibleAt = now
                released += 1
            }
            return released
        }
    }

    /// Hides a message until `date`, as another reader's lease would.
    public func hide(_ queue: String, msgID: Int64, until date: Date) {
        database.withLock { state in
            guard let index = state.queues[queue]?.rows.firstIndex(where: { $0.msgID == msgID }) else { return }
            state.queues[queue]!.rows[index].visibleAt = date
        }
    }

    /// Every message still in the queue, visible or leased.
    public func rows(_ queue: String) -> [QueueRow] {
        database.withLock { $0.queues[queue]?.rows ?? [] }
    }

    /// Every archived message.
    public func archived(_ queue: String) -> [QueueRow] {
        database.withLock { $0.queues[queue]?.archive ?? [] }
    }

    private func withQueue<T: Sendable>(_ name: String, _ body: (inout EmbeddedDatabase.Queue) -> T) throws -> T {
        let result: T? = database.withLock { state in
            guard state.queues[name] != nil else { return nil }
            return body(&state.queues[name]!)
        }
        guard let result else { throw PgmqError.queueNotFound(name) }
        return result
    }
}

/// A pgmq failure, shaped like the PostgreSQL error PostgREST would report.
public struct PgmqError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The SQLSTATE.
    public var code: String
    /// PostgreSQL's message.
    public var message: String

    /// pgmq's tables are `pgmq.q_<name>`; a missing queue is a missing relation (42P01).
    public static func queueNotFound(_ name: String) -> PgmqError {
        PgmqError(code: "42P01", message: "relation \"pgmq.q_\(name.lowercased())\" does not exist")
    }

    /// More messages in one `send_batch` than the stand-in takes (22023, invalid parameter value: 400).
    public static func batchTooLarge(_ count: Int, limit: Int) -> PgmqError {
        PgmqError(code: "22023", message: "send_batch takes at most \(limit) messages, got \(count)")
    }

    /// The queue holds as many messages as the stand-in keeps (53400, configuration limit exceeded: 503).
    public static func queueFull(_ name: String, limit: Int) -> PgmqError {
        PgmqError(code: "53400", message: "queue \"\(name)\" is full: it holds \(limit) messages (EMBEDDED_QUEUE_MAX_MESSAGES)")
    }

    public var description: String { "\(code): \(message)" }
}
