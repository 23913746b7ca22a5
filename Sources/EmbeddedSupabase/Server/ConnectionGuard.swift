import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// Whether the guard refused a connection (a parse error or the header timeout): readable from any thread.
final class RefusalFlag: Sendable {
    private let refused = Mutex(false)

    /// Whether the connection was refused.
    var isSet: Bool { refused.withLock { $0 } }

    /// Marks the connection refused.
    func set() { refused.withLock { $0 = true } }
}

/// A log handler that logs at `debug` what `inner` would log above it once `demoted` says so: the channel
/// beneath the guard complains at `error` about a connection the guard refused (hummingbird-websocket's
/// "Error handling upgrade result"), which is the client's doing, not the server's.
struct DemotingLogHandler: LogHandler {
    var inner: any LogHandler
    let demoted: @Sendable () -> Bool

    var metadataProvider: Logger.MetadataProvider? {
        get { inner.metadataProvider }
        set { inner.metadataProvider = newValue }
    }
    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }
    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        guard event.level > .debug, demoted() else { return inner.log(event: event) }
        guard inner.logLevel <= .debug else { return }
        var quieter = event
        quieter.level = .debug
        inner.log(event: quieter)
    }
}

/// Writes `bytes` (already queued by the caller) out, then closes: the output first, so that a client still
/// sending gets the answer rather than a reset, and the whole connection a second later.
private func flushAndClose(_ context: ChannelHandlerContext, written: EventLoopFuture<Void>) {
    let loop = context.eventLoop
    written.assumeIsolated().whenComplete { _ in
        context.close(mode: .output).assumeIsolated().whenComplete { _ in
            loop.assumeIsolated().scheduleTask(in: .seconds(1)) { context.close(promise: nil) }
        }
    }
}

/// One connection's reading state, shared by its two guard handlers, which run on the channel's event loop.
final class ConnectionWatch {
    /// Time for a request head to arrive.
    let headerTimeout: TimeAmount
    /// A request head is due: from the connection's start and after each request's end until the next head.
    var awaitingHead = true
    /// No line end has arrived since the awaited head began: an overflow now is the request line's.
    var inRequestLine = true
    /// Requests read whose response has not ended.
    var openRequests = 0
    /// When the awaited head is due, while one is awaited and its clock runs.
    var headDue: NIODeadline?
    /// The timer that checks `headDue`, while one is scheduled. A head's arrival only stops the clock
    /// (`headDue = nil`) and leaves the timer be, so a busy keep-alive connection schedules about one timer
    /// per `headerTimeout`, not one per request; the timer re-arms for a later `headDue` when it fires early.
    var deadline: Scheduled<Void>?
    /// The connection was refused or upgraded: the guard has nothing more to do.
    var done = false
    /// Set when the guard refuses the connection.
    let refused: RefusalFlag

    init(headerTimeout: TimeAmount, refused: RefusalFlag) {
        self.headerTimeout = headerTimeout
        self.refused = refused
    }

    /// A head arrived: its clock stops.
    func stopClock() {
        headDue = nil
    }

    /// The guard is done with the connection: its clock stops and its timer goes.
    func cancelDeadline() {
        headDue = nil
        deadline?.cancel()
        deadline = nil
    }
}

/// The raw side of the guard, first in the pipeline: it sees every byte, so it starts the header deadline when
/// a head is due (at the connection's start, then at the first byte after a request's end) and notes the
/// request line's end. On the deadline it answers 408 (unless a response is being written) and closes.
final class HeaderDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let watch: ConnectionWatch

    init(watch: ConnectionWatch) {
        self.watch = watch
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context: context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if watch.awaitingHead, !watch.done {
            if watch.inRequestLine, unwrapInboundIn(data).readableBytesView.contains(UInt8(ascii: "\n")) {
                watch.inRequestLine = false
            }
            arm(context: context)
        }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        watch.cancelDeadline()
    }

    /// Starts the awaited head's clock, unless it runs already, and makes sure a timer will look at it.
    private func arm(context: ChannelHandlerContext) {
        guard watch.headDue == nil, !watch.done else { return }
        let due = NIODeadline.now() + watch.headerTimeout
        watch.headDue = due
        if watch.deadline == nil { schedule(at: due, context: context) }
    }

    private func schedule(at due: NIODeadline, context: ChannelHandlerContext) {
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        watch.deadline = context.eventLoop.scheduleTask(deadline: due) {
            bound.value.handler.expire(context: bound.value.context)
        }
    }

    private func expire(context: ChannelHandlerContext) {
        watch.deadline = nil
        guard let due = watch.headDue, watch.awaitingHead, !watch.done else { return }
        if NIODeadline.now() < due {
            // The timer was set for an earlier head, which arrived in time; this one is due later.
            schedule(at: due, context: context)
            return
        }
        watch.done = true
        watch.refused.set()
        guard watch.openRequests == 0 else {
            context.close(promise: nil)
            return
        }
        let refusal = HTTPRefusal.headerTimeout
        flushAndClose(context, written: context.writeAndFlush(NIOAny(ByteBuffer(string: refusal.bytes))))
    }
}

/// The HTTP side of the guard, right after the HTTP decoder (after the upgrade handler where there is one): it
/// answers a request the parser refuses with `HTTPRefusal` and closes the connection, stops the header
/// deadline when a head arrives, and leaves the pipeline, with the raw side, when the connection upgrades.
final class RequestGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let watch: ConnectionWatch
    let raw: HeaderDeadlineHandler

    init(watch: ConnectionWatch, raw: HeaderDeadlineHandler) {
        self.watch = watch
        self.raw = raw
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            watch.awaitingHead = false
            watch.stopClock()
            watch.openRequests += 1
        case .body:
            break
        case .end:
            watch.awaitingHead = true
            watch.inRequestLine = true
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { watch.openRequests -= 1 }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        guard !watch.done else { return }
        watch.done = true
        watch.refused.set()
        watch.cancelDeadline()
        guard watch.openRequests == 0 else {
            context.close(promise: nil)
            return
        }
        let refusal = HTTPRefusal.answer(to: parserError, inRequestLine: watch.inRequestLine)
        context.write(wrapOutboundOut(.head(refusal.head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: refusal.body)))), promise: nil)
        flushAndClose(context, written: context.writeAndFlush(wrapOutboundOut(.end(nil))))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let upgrade = event as? HTTPServerUpgradeEvents, case .upgradeComplete = upgrade {
            watch.done = true
            watch.cancelDeadline()
            let operations = context.pipeline.syncOperations
            operations.removeHandler(raw, promise: nil)
            operations.removeHandler(context: context, promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        watch.cancelDeadline()
    }
}
