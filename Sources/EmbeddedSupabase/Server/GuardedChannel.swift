import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// The open connections of one server, against its cap.
final class ConnectionCount: Sendable {
    /// The cap.
    let limit: Int
    private let open = Mutex(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes a slot, or returns false when all `limit` are taken.
    func claim() -> Bool {
        open.withLock { open in
            guard open < limit else { return false }
            open += 1
            return true
        }
    }

    /// Gives a slot back.
    func release() {
        open.withLock { $0 -= 1 }
    }
}

/// A server child channel under `HTTPLimits`: a connection beyond the cap is answered 503 and closed before any
/// HTTP handler is set up; an accepted one gets the header deadline and the parse-error answer
/// (`HeaderDeadlineHandler`, `RequestGuardHandler`, the latter placed after `anchor`) around `inner`'s pipeline.
struct GuardedChannel<Inner: ServerChildChannel>: ServerChildChannel {
    /// An accepted connection's value, or none for a refused one.
    struct Value: ServerChildChannelValue {
        let inner: Inner.Value?
        let channel: any Channel
        /// Set when the guard refuses the connection.
        let refused: RefusalFlag
    }

    let inner: Inner
    let limits: HTTPLimits
    let connections: ConnectionCount
    /// The handler after which HTTP request parts arrive: the decoder, or the upgrade handler that follows it.
    let anchor: @Sendable (ChannelPipeline) throws -> any ChannelHandler

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard connections.claim() else {
            logger.debug("Connection refused: the server is full", metadata: ["http.max_connections": "\(limits.maxConnections)"])
            channel.writeAndFlush(ByteBuffer(string: HTTPRefusal.serverFull.bytes)).whenComplete { _ in channel.close(promise: nil) }
            return channel.eventLoop.makeSucceededFuture(Value(inner: nil, channel: channel, refused: RefusalFlag()))
        }
        let connections = connections
        channel.closeFuture.whenComplete { _ in connections.release() }
        let headerTimeout = TimeAmount(limits.headerTimeout)
        let anchor = anchor
        let refused = RefusalFlag()
        return inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let watch = ConnectionWatch(headerTimeout: headerTimeout, refused: refused)
            let raw = HeaderDeadlineHandler(watch: watch)
            try operations.addHandler(raw, position: .first)
            try operations.addHandler(RequestGuardHandler(watch: watch, raw: raw), position: .after(anchor(channel.pipeline)))
            return Value(inner: value, channel: channel, refused: refused)
        }
    }

    func handle(value: Value, logger: Logger) async {
        guard let accepted = value.inner else { return }
        var quieter = logger
        let refused = value.refused
        quieter.handler = DemotingLogHandler(inner: logger.handler, demoted: { refused.isSet })
        await inner.handle(value: accepted, logger: quieter)
    }
}
