import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// A WebSocket upgrade that the hub would refuse, answered as Realtime answers it.
///
/// hummingbird-websocket answers an upgrade its router declines with a bare 400. Realtime answers a bad
/// key with 401 and `{"error": "…"}` (docs/realtime.md). So this gate, placed before the upgrade
/// handler, holds the first request of a connection while `admits` decides; a refused upgrade request
/// goes on without its `Upgrade`/`Connection` headers, as a plain GET that the HTTP routes answer
/// (`RealtimeHubController.addRoutes`). It then leaves the pipeline: only a connection's first request
/// can be upgraded.
final class UpgradeGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let admits: @Sendable (HTTPRequestHead) async -> Bool
    private var held: [HTTPServerRequestPart] = []
    private var deciding = false
    private var removed = false

    init(admits: @escaping @Sendable (HTTPRequestHead) async -> Bool) {
        self.admits = admits
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if deciding {
            held.append(part)
            return
        }
        guard case .head(let head) = part, head.headers["upgrade"].contains(where: { $0.lowercased() == "websocket" }) else {
            context.fireChannelRead(data)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        deciding = true
        held = [part]
        let eventLoop = context.eventLoop
        let bound = NIOLoopBound((gate: self, context: context), eventLoop: eventLoop)
        let admits = admits
        Task {
            let admitted = await admits(head)
            eventLoop.execute { bound.value.gate.release(admitted: admitted, context: bound.value.context) }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
        held = []
    }

    /// Passes the held parts on (a refused upgrade without its upgrade headers) and leaves the pipeline;
    /// nothing when the connection went away meanwhile (the pipeline removed the gate).
    private func release(admitted: Bool, context: ChannelHandlerContext) {
        guard !removed else { return }
        let parts = held.map { part -> HTTPServerRequestPart in
            guard !admitted, case .head(var head) = part else { return part }
            head.headers.remove(name: "upgrade")
            head.headers.remove(name: "connection")
            return .head(head)
        }
        held = []
        deciding = false
        for part in parts { context.fireChannelRead(wrapInboundOut(part)) }
        context.fireChannelReadComplete()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}

/// An HTTP/1 server child channel with an `UpgradeGate` right after the request decoder.
struct GatedUpgradeChannel<Inner: ServerChildChannel>: ServerChildChannel {
    let inner: Inner
    let admits: @Sendable (HTTPRequestHead) async -> Bool

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Inner.Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let decoder = try operations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try operations.addHandler(UpgradeGate(admits: admits), position: .after(decoder))
            return value
        }
    }

    func handle(value: Inner.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}
