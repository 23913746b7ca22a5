import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import Shared

/// The embedded hub's routes: the WebSocket at `/realtime/v1/websocket` and the REST broadcast API
/// (`docs/realtime.md`; contract §5, §7).
struct RealtimeHubController: Sendable {
    /// The WebSocket path.
    static let socketPath: RouterPath = "/realtime/v1/websocket"

    /// The hub the routes serve.
    let hub: RealtimeHub
    /// Verifies the `apikey`/`Authorization` token when keys are configured; `nil` accepts every caller.
    let verifier: JWTVerifier?
    /// The clock of the idle timeout.
    let time: Timekeeper

    /// Creates the routes for `hub`.
    init(hub: RealtimeHub, verifier: JWTVerifier?, time: Timekeeper = .system) {
        self.hub = hub
        self.verifier = verifier
        self.time = time
    }

    /// Whether a connection's first request becomes a hub socket (after `UpgradeGate`): a GET of the socket path
    /// with a supported `vsn` and credentials the verifier accepts.
    ///
    /// This is `HTTP1WebSocketUpgradeChannel`'s plain decision function, not a hummingbird-websocket router: an
    /// upgrade through `Router.ws` leaves its request context in a reference cycle (the context's handler box
    /// holds a copy of the context), about 1 KB kept for every socket ever opened (bench/RESULTS.md, "Soak").
    @Sendable func shouldUpgrade(
        _ head: HTTPRequest, channel: any Channel, logger: Logger
    ) async -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        let request = Request(head: head, body: RequestBody(buffer: ByteBuffer()))
        guard head.method == .get, Self.isSocketPath(request.uri.path), let version = Self.version(of: request),
            await authorized(request, allowQueryKey: true)
        else { return .dontUpgrade }
        let (hub, time) = (hub, time)
        return .upgrade([:]) { inbound, outbound, context in
            try await hub.serve(inbound: inbound, outbound: outbound, version: version, time: time, logger: context.logger)
        }
    }

    /// Whether `path` is the socket's, with or without trailing slashes.
    static func isSocketPath(_ path: String) -> Bool {
        var path = Substring(path)
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        return path == "/realtime/v1/websocket"
    }

    /// Whether the first request of a connection, `head` from `address`, may try the upgrade: a socket request
    /// with a supported `vsn`, credentials the verifier accepts and a free socket slot for its address (which
    /// it then holds until the connection closes; the service role, which our bots use, needs none), or any
    /// other request (`UpgradeGate`).
    @Sendable func admitsUpgrade(_ head: HTTPRequestHead, from address: SocketAddress?) async -> UpgradeDecision {
        let uri = URI(head.uri)
        guard Self.isSocketPath(uri.path) else { return .admit(release: nil) }
        if let vsn = uri.queryParameters.get("vsn"), ProtocolVersion(rawValue: vsn) == nil { return .refuse }
        let key = head.headers["apikey"].first ?? head.headers["x-api-key"].first ?? uri.queryParameters.get("apikey")
        let role: String?
        do {
            role = try await verifier?.authorize(authorization: head.headers["authorization"].first, apiKey: key, jwtInAPIKey: true).role
        } catch {
            return .refuse
        }
        if role == "service_role" { return .admit(release: nil) }
        let ip = address?.ipAddress
        guard hub.claimSocket(address: ip) else { return .tooManySockets }
        let hub = hub
        return .admit(release: { hub.releaseSocket(address: ip) })
    }

    /// Adds the REST broadcast endpoints, and the answer to a socket request that was not upgraded.
    func addRoutes<Context: RequestContext>(to router: some RouterMethods<Context>) {
        router.post("/realtime/v1/api/broadcast") { try await broadcastBatch($0, context: $1) }
        router.post("/realtime/v1/api/broadcast/:topic/events/:event") { try await broadcastSingle($0, context: $1) }
        router.get(Self.socketPath) { request, context in
            if let refusal = await refusal(of: request, allowQueryKey: true) {
                context.logger.debug("Realtime socket refused", metadata: ["error": "\(refusal)"])
                let key =
                    request.headers[.authorization] ?? Self.apiKey(of: request, allowQueryKey: true)
                let message = key == nil ? "API key is missing" : "The token provided is not a valid JWT"
                return Response.json(["error": .string(message)] as JSONValue, status: .unauthorized)
            }
            guard Self.version(of: request) != nil else {
                return Response.json(["error": "Unsupported vsn"] as JSONValue, status: .badRequest)
            }
            if request.headers.contains(where: { $0.name.canonicalName == UpgradeGate.tooManySocketsHeader }) {
                return Response.json(["error": "Too many sockets from this address"] as JSONValue, status: .tooManyRequests)
            }
            return Response.json(["error": "Expected a WebSocket upgrade"] as JSONValue, status: .badRequest)
        }
    }

    /// `POST /realtime/v1/api/broadcast`: `{messages:[{topic,event,payload,private?,id?}]}` → 202, 401 or 422.
    @Sendable func broadcastBatch(_ request: Request, context: some RequestContext) async throws -> Response {
        guard await authorized(request, allowQueryKey: false) else { return Self.unauthorized }
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        guard let value = try? JSONValue(parsing: Data(body.readableBytesView)) else {
            return Self.unprocessable(["messages": ["can't be blank"]])
        }
        guard case .array(let messages)? = value["messages"] else { return Self.unprocessable(["messages": ["can't be blank"]]) }
        var errors: [JSONValue] = []
        var valid: [(topic: String, event: String, payload: JSONValue, isPrivate: Bool, id: String?)] = []
        for message in messages {
            var problems: [String: JSONValue] = [:]
            let topic = message["topic"]?.stringValue
            let event = message["event"]?.stringValue
            if topic?.isEmpty ?? true { problems["topic"] = ["can't be blank"] }
            if event?.isEmpty ?? true { problems["event"] = ["can't be blank"] }
            switch message["payload"] {
            case .object?: break
            case nil, .null?: problems["payload"] = ["can't be blank"]
            default: problems["payload"] = ["is invalid"]
            }
            errors.append(.object(problems))
            if problems.isEmpty, let topic, let event, let payload = message["payload"] {
                valid.append((topic, event, payload, message["private"] == .bool(true), message["id"]?.stringValue))
            }
        }
        guard valid.count == messages.count else { return Self.unprocessable(["messages": .array(errors)]) }
        for message in valid {
            hub.broadcast(name: message.topic, event: message.event, payload: message.payload, isPrivate: message.isPrivate, id: message.id)
        }
        return Response(status: .accepted)
    }

    /// `POST /realtime/v1/api/broadcast/{topic}/events/{event}`: the body is the payload → 202, 401, 415 or 422.
    @Sendable func broadcastSingle(_ request: Request, context: some RequestContext) async throws -> Response {
        guard await authorized(request, allowQueryKey: false) else { return Self.unauthorized }
        let topic = try context.parameters.require("topic").removingPercentEncoding ?? ""
        let event = try context.parameters.require("event").removingPercentEncoding ?? ""
        let contentType = request.headers[.contentType]?.lowercased()
        if let contentType, !contentType.hasPrefix("application/json"), !contentType.hasPrefix("application/octet-stream") {
            return Response.json(
                ["error": "Unsupported Media Type. Use application/json or application/octet-stream"] as JSONValue,
                status: .unsupportedMediaType
            )
        }
        let body = try await request.body.collect(upTo: context.maxUploadSize)
        let payload: JSONValue
        if contentType?.hasPrefix("application/octet-stream") == true {
            payload = .string(Data(body.readableBytesView).base64EncodedString())
        } else {
            guard case .object? = try? JSONValue(parsing: Data(body.readableBytesView)) else {
                return Self.unprocessable(["payload": ["is invalid"]])
            }
            payload = try JSONValue(parsing: Data(body.readableBytesView))
        }
        guard !topic.isEmpty, !event.isEmpty else { return Self.unprocessable(["topic": ["can't be blank"]]) }
        let isPrivate = request.uri.queryParameters.get("private") == "true"
        hub.broadcast(name: topic, event: event, payload: payload, isPrivate: isPrivate)
        return Response(status: .accepted)
    }

    // MARK: - Helpers

    /// Realtime takes the token from `Authorization: Bearer`, else the `apikey` header (or, for the socket,
    /// the `x-api-key` header or `apikey` query parameter).
    private func authorized(_ request: Request, allowQueryKey: Bool) async -> Bool {
        await refusal(of: request, allowQueryKey: allowQueryKey) == nil
    }

    /// Why `request` is refused, or `nil` when it may go on.
    func refusal(of request: Request, allowQueryKey: Bool) async -> InvalidJWT? {
        await refusal(authorization: request.headers[.authorization], apiKey: Self.apiKey(of: request, allowQueryKey: allowQueryKey))
    }

    /// The key of `request`: its `apikey` or `x-api-key` header, or (for the socket) its `apikey` query parameter.
    private static func apiKey(of request: Request, allowQueryKey: Bool) -> String? {
        let header = { (name: String) in request.headers.first { $0.name.canonicalName == name }?.value }
        return header("apikey") ?? header("x-api-key") ?? (allowQueryKey ? request.uri.queryParameters.get("apikey") : nil)
    }

    /// Why a request with these credentials is refused, or `nil` when it may go on. A configured new API
    /// key (`sb_…`) stands for its role, as the gateway in front of Realtime makes it.
    func refusal(authorization: String?, apiKey: String?) async -> InvalidJWT? {
        guard let verifier else { return nil }
        do {
            _ = try await verifier.authorize(authorization: authorization, apiKey: apiKey, jwtInAPIKey: true)
            return nil
        } catch let error as InvalidJWT {
            return error
        } catch {
            return InvalidJWT(reason: "\(error)")
        }
    }

    private static func version(of request: Request) -> ProtocolVersion? {
        guard let vsn = request.uri.queryParameters.get("vsn") else { return .v1 }
        return ProtocolVersion(rawValue: vsn)
    }

    private static var unauthorized: Response { .json(["message": "Unauthorized"] as JSONValue, status: .unauthorized) }

    private static func unprocessable(_ errors: JSONValue) -> Response {
        .json(["errors": errors] as JSONValue, status: .unprocessableContent)
    }
}
