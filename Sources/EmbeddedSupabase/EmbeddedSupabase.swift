import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import NIOHTTP1
import Shared

/// An in-memory stand-in for the slice of Supabase the matchmaker and its bots use: pgmq queues,
/// the app's tables with the room RPCs of `deploy/supabase/migrations/`, PostgREST-shaped routes over
/// them, and a Realtime hub (Phoenix channels, presence, broadcast).
///
/// It is for running the whole system on one machine and for tests; the production backends never
/// import it. Fidelity to the real services is checked with the official Supabase clients.
public struct EmbeddedSupabase: Sendable {
    /// The pgmq queues (`pgmq_public` over REST).
    public let pgmq: EmbeddedPgmq
    /// The tables and room RPCs of schema `public`.
    public let store: EmbeddedStore
    /// The Realtime hub.
    public let hub: RealtimeHub
    /// Failures injected into queue and table calls.
    public let faults: EmbeddedFaults
    /// The one clock of queues, tables and the hub's sockets (message visibility, timestamps, idle timeout).
    public let time: Timekeeper

    /// Creates empty queues named `queues`, empty tables and an idle hub sharing one clock.
    public init(
        queues: [String], time: Timekeeper = .system, hub: RealtimeHub = RealtimeHub(), queueLimits: EmbeddedPgmq.Limits = .init()
    ) {
        let faults = EmbeddedFaults()
        let database = EmbeddedDatabase(queues: queues)
        self.faults = faults
        self.hub = hub
        self.time = time
        pgmq = EmbeddedPgmq(database: database, time: time, faults: faults, limits: queueLimits)
        store = EmbeddedStore(database: database, faults: faults, time: time)
    }

    /// Adds the slice's routes under their own groups: `/rest/v1` (RPCs and tables, PostgREST's error
    /// shape), `/realtime/v1` (REST broadcast, and the answer to a socket request not upgraded), and Auth's
    /// published keys, `{"keys":[]}` as a project on its legacy HS256 secret publishes them (a matchmaker whose
    /// `SUPABASE_URL` is this server fetches them at start). `verifier` checks `Authorization`/`apikey` of the
    /// first two when keys are configured; `nil` accepts every caller.
    public func addRoutes<Context: RequestContext>(to router: some RouterMethods<Context>, verifier: JWTVerifier?) {
        router.get("/auth/v1/.well-known/jwks.json") { _, _ in Response.json(["keys": []] as JSONValue) }
        let rest = router.group().add(middleware: BodyLimitMiddleware<Context>(shape: .postgREST))
        RPCController(pgmq: pgmq, store: store, verifier: verifier).addRoutes(to: rest)
        TableController(store: store, verifier: verifier).addRoutes(to: rest)
        let realtime = router.group().add(middleware: BodyLimitMiddleware<Context>(shape: .realtime))
        RealtimeHubController(hub: hub, verifier: verifier, time: time).addRoutes(to: realtime)
    }

    /// The HTTP/1 server with upgrades of `/realtime/v1/websocket` to the hub, under `limits` (`HTTPLimits`): a
    /// socket request the hub refuses (bad key, unsupported `vsn`, too many sockets from one address) is answered
    /// by the HTTP routes (401/400 `{"error": …}`, as Realtime answers, or 429) instead of
    /// hummingbird-websocket's bare 400.
    public func server(verifier: JWTVerifier?, limits: HTTPLimits = HTTPLimits(), ws: WebSocketServerConfiguration) -> HTTPServerBuilder {
        let controller = RealtimeHubController(hub: hub, verifier: verifier, time: time)
        let connections = ConnectionCount(limit: limits.maxConnections)
        return HTTPServerBuilder { responder in
            GuardedChannel(
                inner: GatedUpgradeChannel(
                    inner: HTTP1WebSocketUpgradeChannel(
                        responder: responder, configuration: .init(http1: limits.http1, ws: ws), shouldUpgrade: controller.shouldUpgrade),
                    admits: controller.admitsUpgrade
                ),
                limits: limits, connections: connections,
                anchor: {
                    try $0.syncOperations.handler(type: NIOTypedHTTPServerUpgradeHandler<HTTP1WebSocketUpgradeChannel.UpgradeResult>.self)
                }
            )
        }
    }
}
