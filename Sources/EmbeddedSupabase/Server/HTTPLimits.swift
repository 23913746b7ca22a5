import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTP1

/// The limits every HTTP server of the matchmaker applies to its connections (`serve`, its embedded Supabase
/// slice, and the operations server of `matchmaker bots`): README "Limits".
///
/// A request the HTTP parser refuses is answered (`HTTPRefusal`) and its connection closed; a request head
/// must arrive within `headerTimeout`; a keep-alive connection idle for `idleTimeout` is closed; beyond
/// `maxConnections` open connections a new one gets 503 and is closed at once.
public struct HTTPLimits: Sendable, Hashable {
    /// Time for a request head to arrive in full, from the connection's start or the first byte of the next
    /// request (`HTTP_HEADER_TIMEOUT`): a client sending its headers slowly is answered 408 and closed.
    public var headerTimeout: Duration = .seconds(10)
    /// A keep-alive connection with no request for this long is closed (`HTTP_IDLE_TIMEOUT`).
    public var idleTimeout: Duration = .seconds(60)
    /// Open connections, WebSockets included (`HTTP_MAX_CONNECTIONS`); keep it below the process's file limit.
    public var maxConnections = 4096
    /// Bytes of a request head, request line included (`HTTP_MAX_HEADER_BYTES`): beyond it, 431.
    public var maxHeaderBytes = 32 << 10
    /// Bytes of the request line's URL, and of any one header line (`HTTP_MAX_URL_BYTES`): a longer URL gets 414.
    public var maxURLBytes = 16 << 10

    /// The defaults.
    public init() {}

    /// Hummingbird's HTTP/1 settings for these limits: the idle timeout and the parser's size limits.
    public var http1: HTTP1Channel.Configuration {
        HTTP1Channel.Configuration(
            idleTimeout: TimeAmount(idleTimeout),
            httpDecoderConfiguration: .init(maxHeaderFieldSize: maxURLBytes, maxHeaderListSize: maxHeaderBytes, maxHeaderFieldCount: 1000)
        )
    }
}

extension TimeAmount {
    /// `duration` in NIO's nanoseconds.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}

extension HTTPServerBuilder {
    /// Hummingbird's HTTP/1 server under `limits` (`GuardedChannel`).
    public static func guardedHTTP1(_ limits: HTTPLimits) -> HTTPServerBuilder {
        let connections = ConnectionCount(limit: limits.maxConnections)
        return HTTPServerBuilder { responder in
            GuardedChannel(
                inner: HTTP1Channel(responder: responder, configuration: limits.http1), limits: limits, connections: connections,
                anchor: { try $0.syncOperations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) }
            )
        }
    }
}
