import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1

/// What the gate does with a connection's first request.
enum UpgradeDecision: Sendable {
    /// It goes on as it came; `release` (if any) runs when the connection closes (the hub's socket slot).
    case admit(release: (@Sendable () -> Void)?)
    /// It goes on without its upgrade headers, for the HTTP routes to answer (bad key, unsupported `vsn`).
    case refuse
    /// As `refuse`, marked `UpgradeGate.tooManySocketsHeader` so that the routes answer 429.
    case tooManySockets
}

/// A WebSocket upgrade that the hub would refuse, answered as Realtime answers it.
///
/// hummingbird-websocket answers an upgrade its router declines with a bare 400. Realtime answers a bad
/// key with 401 and `{"error": "…"}` (docs/realtime.md). So this gate, placed before the upgrade
/// handler, holds the first request of a connection while `admits` decides; a refused upgrade request
/// goes on without its `Upgrade`/`Connection` headers, as a plain GET that the HTTP routes answer
/// (`RealtimeHubController.addRoutes`). It then leaves the pipeline: only a connection's first request
/// can be upgraded. A socket request from an address holding `EMBEDDED_SOCKETS_PER_ADDRESS` sockets goes on
/// marked with `tooManySocketsHeader` (a client's own header of that name is dropped).
final class UpgradeGate: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    /// The header that marks a socket request refused for the address's socket count.
    static let tooManySocketsHeader = "x-embedded-hub-refusal"

    private let admits: @Sendable (HTTPRequestHead, SocketAddress?) async -> UpgradeDecision
    private var held: [HTTPServerRequestPart] = []
    private var deciding = false
    private var removed = false

    init(admits: @escaping @Sendable (HTTPRequestHead, SocketAddress?) async -> UpgradeDecision) {
        self.admits = admits
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if deciding {
            held.append(part)
            return
        }
        guard case .head(var head) = part, head.headers["upgrade"].contains(where: { $0.lowercased() == "websocket" }) else {
            if case .head(var head) = part, head.headers.contains(name: Self.tooManySocketsHeader) {
                head.headers.remove(name: Self.tooManySocketsHeader)
                context.fireChannelRead(wrapInboundOut(.head(head)))
            } else {
                context.fireChannelRead(data)
            }
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        deciding = true
        head.headers.remove(name: Self.tooManySocketsHeader)
        held = [.head(head)]
        let eventLoop = context.eventLoop
        let bound = NIOLoopBound((gate: self, context: context), eventLoop: eventLoop)
        let (admits, address, closed) = (admits, context.channel.remoteAddress, context.channel.closeFuture)
        Task {
            let decision = await admits(head, address)
            if case .admit(let release?) = decision { closed.whenComplete { _ in release() } }
            eventLoop.execute { bound.value.gate.release(decision, context: bound.value.context) }
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        removed = true
        held = []
    }

    /// Passes the held parts on (a refused upgrade without its upgrade headers, marked when refused for the
    /// socket count) and leaves the pipeline; nothing when the connection went away meanwhile (the pipeline
    /// removed the gate).
    private func release(_ decision: UpgradeDecision, context: ChannelHandlerContext) {
        guard !removed else { return }
        let parts = held.map { part -> HTTPServerRequestPart in
            guard case .head(var head) = part else { return part }
            switch decision {
            case .admit: return part
            case .refuse: break
            case .tooManySockets: head.headers.add(name: Self.tooManySocketsHeader, value: "sockets")
            }
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
    let admits: @Sendable (HTTPRequestHead, SocketAddress?) async -> UpgradeDecision

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
