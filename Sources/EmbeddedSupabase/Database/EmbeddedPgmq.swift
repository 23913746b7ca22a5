import Foundation
import Shared

/// pgmq's semantics in memory: FIFO `msg_id`s per queue, visibility timeouts, `read_ct`, archive.
///
/// Every operation is one short critical section of the backend's `EmbeddedDatabase`; `read` is
/// atomic the way pgmq's `FOR UPDATE SKIP LOCKED` is, so two concurrent readers never lease the same message.
public final class EmbeddedPgmq: Sendable {
    let database: EmbeddedDatabase
    private let time: Timekeeper
    private let faults: EmbeddedFaults

    /// Creates the store with the given queues.
    public convenience init(queues names: [String], time: Timekeeper, faults: EmbeddedFaults = EmbeddedFaults()) {
        self.init(database: EmbeddedDatabase(queues: names), time: time, faults: faults)
    }

    /// Creates the queue side of a shared database.
    init(database: EmbeddedDatabase, time: Timekeeper, faults: EmbeddedFaults) {
        self.database = database
        self.time = time
        self.faults = faults
    }

    /// `pgmq.send`: appends a message, visible after `delay` seconds; returns its id.
    public func send(_ queue: String, message: JSONValue, delay: Int = 0) throws -> Int64 {
        try sendBatch(queue, messages: [message], delay: delay)[0]
    }

    /// `pgmq.send_batch`: appends messages in order; returns their ids.
    public func sendBatch(_ queue: String, messages: [JSONValue], delay: Int = 0) throws -> [Int64] {
        let now = time.now()
        return try withQueue(queue) { state in
            messages.map { message in
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

    /// `pgmq.archive`: moves the message to the archive; true when it existed.
    public func archive(_ queue: String, msgID: Int64) throws -> Bool {
        try withQueue(queue) { state in
            guard let index = state.rows.firstIndex(where: { $0.msgID == msgID }) else { return false }
            state.archive.append(state.rows.remove(at: index))
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

    public var description: String { "\(code): \(message)" }
}
