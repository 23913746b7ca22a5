import Synchronization

/// One socket's queue of outgoing frames, bounded in bytes.
///
/// The hub never blocks on a socket: it appends frames here and the connection's own task writes them out.
/// A client that stops reading would make that queue grow without end, so once more than `limit` bytes
/// wait for it the outbox refuses further frames and reports the overflow once; the session then closes
/// the socket, as Realtime disconnects a consumer that cannot keep up.
final class HubOutbox: Sendable {
    private struct Load {
        var bytes = 0
        var highWater = 0
        var overflowed = false
    }

    /// The frames to write, in order.
    let frames: AsyncStream<RealtimeHub.Outgoing>
    /// Yields once, when the queue first exceeds its limit, then finishes.
    let overflow: AsyncStream<Int>
    private let continuation: AsyncStream<RealtimeHub.Outgoing>.Continuation
    private let overflowed: AsyncStream<Int>.Continuation
    private let limit: Int
    private let load = Mutex(Load())

    /// An empty outbox that holds at most `limit` bytes of frames not yet written.
    init(limit: Int) {
        self.limit = limit
        (frames, continuation) = AsyncStream.makeStream(of: RealtimeHub.Outgoing.self)
        (overflow, overflowed) = AsyncStream.makeStream(of: Int.self)
    }

    /// Bytes queued and not yet written.
    var queuedBytes: Int { load.withLock { $0.bytes } }

    /// The most bytes ever queued at once.
    var highWater: Int { load.withLock { $0.highWater } }

    /// Queues `frame` unless the queue is over its limit; the first refusal reports the overflow.
    func send(_ frame: RealtimeHub.Outgoing) {
        let size = frame.byteCount
        let verdict = load.withLock { load -> (accepted: Bool, firstOverflow: Int?) in
            if load.overflowed { return (false, nil) }
            if load.bytes + size > limit, load.bytes > 0 {
                load.overflowed = true
                return (false, load.bytes + size)
            }
            load.bytes += size
            load.highWater = max(load.highWater, load.bytes)
            return (true, nil)
        }
        if verdict.accepted {
            continuation.yield(frame)
        } else if let wanted = verdict.firstOverflow {
            overflowed.yield(wanted)
            overflowed.finish()
            continuation.finish()
        }
    }

    /// The session wrote `frame` to the socket: its bytes leave the queue.
    func written(_ frame: RealtimeHub.Outgoing) {
        let size = frame.byteCount
        load.withLock { $0.bytes -= size }
    }

    /// No more frames: the socket is gone.
    func finish() {
        continuation.finish()
        overflowed.finish()
    }
}

extension RealtimeHub.Outgoing {
    /// What the frame costs the queue: its payload bytes.
    var byteCount: Int {
        switch self {
        case .text(let text): text.utf8.count
        case .binary(let bytes): bytes.count
        case .close: 0
        }
    }
}
