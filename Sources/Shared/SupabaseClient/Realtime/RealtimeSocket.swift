import Foundation
import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import WSClient

/// One WebSocket to Realtime carrying up to `maxChannelsPerConnection` channels.
///
/// `run()` connects, keeps the heartbeat, dispatches frames to channels, and on loss reconnects with backoff
/// and rejoins every channel. It ends when it has no channel left or when cancelled. The heartbeat and join
/// decisions are values (`HeartbeatMachine`, `ChannelStateMachine`); this actor only performs them.
public actor RealtimeSocket {
    /// The socket's number in its pool.
    public nonisolated let id: Int
    private let configuration: RealtimeConfiguration
    private let serializer: PhoenixSerializer
    private let time: Timekeeper
    private let gate: JoinGate
    private let monitor: RealtimeMonitor
    private let probe: (any HTTPTransport)?
    private let logger: Logger
    private let unit: @Sendable () -> Double
    private let registry = Mutex(Registry())

    private var writer: WebSocketOutboundWriter?
    private var openWaiters: [OneShot<Void>] = []
    private var pendingReplies: [String: (topic: String, waiter: OneShot<PhoenixMessage>)] = [:]
    private var heartbeat: HeartbeatMachine?
    private var nextRef = 0
    private var openedThisAttempt = false
    /// Why the socket stopped for good, for joins that arrive afterwards.
    private var stopError: RealtimeError?
    /// Channels to rejoin on the open connection; a fresh stream per connection, since a cancelled
    /// iteration ends an `AsyncStream` for good.
    private var rejoinRequests: AsyncStream<RealtimeChannel>.Continuation?

    private struct Registry {
        var channels: [String: RealtimeChannel] = [:]
        var accepting = true
    }

    /// Creates a socket; the pool does this and runs it.
    /// - Parameter probe: the HTTP transport to the project, to learn the status of a refused upgrade.
    init(
        id: Int, configuration: RealtimeConfiguration, time: Timekeeper, gate: JoinGate, monitor: RealtimeMonitor,
        probe: (any HTTPTransport)?, logger: Logger, unit: @escaping @Sendable () -> Double
    ) {
        self.id = id
        self.probe = probe
        self.configuration = configuration
        self.serializer = PhoenixSerializer(version: configuration.version)
        self.time = time
        self.gate = gate
        self.monitor = monitor
        var logger = logger
        logger[metadataKey: "realtime.socket"] = "\(id)"
        self.logger = logger
        self.unit = unit
    }

    /// Channels on this socket now.
    public nonisolated var channelCount: Int { registry.withLock { $0.channels.count } }

    /// Adds a channel if the socket still takes channels and has room; false otherwise.
    nonisolated func register(_ channel: RealtimeChannel, limit: Int) -> Bool {
        registry.withLock { registry in
            guard registry.accepting, registry.channels.count < limit, registry.channels[channel.topic] == nil else { return false }
            registry.channels[channel.topic] = channel
            return true
        }
    }

    /// The channel on `topic`, if any.
    nonisolated func channel(topic: String) -> RealtimeChannel? {
        registry.withLock { $0.channels[topic] }
    }

    private nonisolated func unregister(_ channel: RealtimeChannel) {
        registry.withLock { registry in
            if registry.channels[channel.topic] === channel { registry.channels[channel.topic] = nil }
        }
    }

    private nonisolated var allChannels: [RealtimeChannel] { registry.withLock { Array($0.channels.values) } }

    /// Stops taking channels when none is left; true when the socket should stop.
    private nonisolated func retireIfEmpty() -> Bool {
        registry.withLock { registry in
            guard registry.channels.isEmpty else { return false }
            registry.accepting = false
            return true
        }
    }

    // MARK: - Connection loop

    /// Connects and serves until no channel is left or the task is cancelled; reconnects with backoff.
    func run() async {
        var failures = 0
        var everOpened = false
        defer {
            registry.withLock { $0.accepting = false }
            monitor.removed(socket: id)
        }
        while !Task.isCancelled {
            if everOpened, retireIfEmpty() { return }
            monitor.connecting(socket: id, reconnect: everOpened || failures > 0)
            let started = ContinuousClock.now
            openedThisAttempt = false
            var cause = RealtimeError(.socketClosed, reason: "connection closed")
            do {
                var clientConfiguration = WebSocketClientConfiguration()
                clientConfiguration.maxFrameSize = configuration.maxFrameSize
                clientConfiguration.closeTimeout = .seconds(1)
                clientConfiguration.autoPing = .disabled
                try await WebSocketClient.connect(url: configuration.socketURL, configuration: clientConfiguration, logger: logger) {
                    inbound, outbound, _ in
                    try await self.serve(inbound: inbound, outbound: outbound, started: started)
                }
            } catch let error as RealtimeError {
                cause = error
            } catch let error as WebSocketClientError where error == .webSocketUpgradeFailed {
                cause = await refusedHandshake()
            } catch is CancellationError {
                cause = RealtimeError(.socketClosed, reason: "client stopped")
            } catch {
                cause = RealtimeError(.socketClosed, reason: String(describing: error))
            }
            let opened = openedThisAttempt
            connectionEnded(cause, wasOpen: opened)
            if opened {
                everOpened = true
                failures = 0
            } else {
                monitor.failed(cause, at: time.now())
            }
            if Task.isCancelled { return }
            if retireIfEmpty() { return }
            failures += 1
            let retryable = cause.failureClass.isRetryable
            guard retryable, failures <= configuration.reconnectBackoff.maxRetries else {
                let why = retryable ? "socket lost" : "not retryable after \(failures) attempt(s)"
                let final = RealtimeError(.gaveUp, reason: "\(why): \(cause)", status: cause.status)
                logger.warning("Realtime socket given up", metadata: ["realtime.cause": "\(cause)"])
                stopError = final
                registry.withLock { $0.accepting = false }
                for channel in allChannels { remove(channel, error: final) }
                let waiters = openWaiters
                openWaiters = []
                for waiter in waiters { waiter.resolve(.failure(final)) }
                return
            }
            let delay = configuration.reconnectBackoff.delay(attempt: failures, unit: unit())
            logger.debug("Realtime socket reconnects", metadata: ["realtime.delay": "\(delay)", "realtime.cause": "\(cause)"])
            do { try await time.sleep(delay) } catch { return }
        }
    }

    /// `WSClient` only says that the upgrade was refused: a plain GET of the same URL (with `apikey`) learns the
    /// status, so that 401/403/404 stop at once while 429 and 5xx are retried.
    private func refusedHandshake() async -> RealtimeError {
        guard let probe else { return RealtimeError(.handshakeRefused, reason: "WebSocket upgrade refused (status not probed)") }
        let response: UpstreamResponse
        do {
            response = try await probe.send(UpstreamRequest(method: "GET", path: configuration.socketPath))
        } catch {
            // Only the kind of failure: the transport's message names the path, whose query carries the API key.
            let kind = (error as? UpstreamError).map { "\($0.kind)" } ?? "\(type(of: error))"
            return RealtimeError(.handshakeRefused, reason: "WebSocket upgrade refused; probing its status failed (\(kind))")
        }
        let body = try? JSONValue(parsing: Data(response.body.utf8))
        let detail = (body?["error"] ?? body?["message"])?.stringValue.map { ": \($0)" } ?? ""
        logger.debug("Realtime handshake refused", metadata: ["upstream.status": "\(response.status)"])
        return RealtimeError(
            .handshakeRefused, reason: "HTTP \(response.status) on the WebSocket handshake\(detail)", status: response.status
        )
    }

    private func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, started: ContinuousClock.Instant) async throws {
        writer = outbound
        openedThisAttempt = true
        heartbeat = HeartbeatMachine(interval: configuration.heartbeatInterval, now: time.now())
        monitor.opened(socket: id)
        monitor.succeeded(after: ContinuousClock.now - started)
        logger.debug("Realtime socket open")
        let waiters = openWaiters
        openWaiters = []
        for waiter in waiters { waiter.resolve(.success(())) }
        let (rejoins, requests) = AsyncStream.makeStream(of: RealtimeChannel.self)
        rejoinRequests = requests
        defer {
            requests.finish()
            rejoinRequests = nil
        }
        for channel in allChannels { perform(channel.step { $0.socketOpened() }, on: channel) }
        do {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await self.readLoop(inbound) }
                group.addTask { try await self.heartbeatLoop() }
                // Children, not the group's body, so that a closed socket cancels the rejoins too.
                group.addTask {
                    await withDiscardingTaskGroup { joins in
                        for await channel in rejoins {
                            joins.addTask { try? await self.rejoin(channel) }
                        }
                    }
                }
            }
        } catch {
            try? await outbound.close(.normalClosure, reason: (error as? RealtimeError)?.kind.rawValue)
            throw error
        }
    }

    private func readLoop(_ inbound: WebSocketInboundStream) async throws {
        for try await message in inbound.messages(maxSize: configuration.maxFrameSize) {
            do {
                switch message {
                case .text(let text): handle(try serializer.decode(text: text))
                case .binary(let buffer): handle(try serializer.decode(binary: Array(buffer.readableBytesView)))
                }
            } catch {
                logger.debug("Realtime frame dropped", metadata: ["error": "\(error)"])
            }
        }
        throw RealtimeError(.socketClosed, reason: "server closed the connection")
    }

    private func heartbeatLoop() async throws {
        while true {
            guard var machine = heartbeat else { return }
            let action = machine.tick(now: time.now(), makeRef: makeRef)
            heartbeat = machine
            switch action {
            case .wait:
                let wait = machine.deadline.timeIntervalSince(time.now())
                try await time.sleep(.seconds(double: max(wait, 0.001)))
            case .send(let ref):
                if retireIfEmpty() { throw RealtimeError(.socketClosed, reason: "no channel left") }
                try await write(PhoenixMessage(ref: ref, topic: PhoenixEvent.phoenixTopic, event: PhoenixEvent.heartbeat))
            case .timedOut(let ref):
                logger.info("Realtime heartbeat unanswered; reconnecting", metadata: ["realtime.ref": "\(ref)"])
                throw RealtimeError(.heartbeatTimeout, reason: "heartbeat \(ref) unanswered")
            }
        }
    }

    private func connectionEnded(_ cause: RealtimeError, wasOpen: Bool) {
        writer = nil
        heartbeat = nil
        if wasOpen {
            monitor.closed(socket: id, wasOpen: true)
            logger.info("Realtime socket closed", metadata: ["realtime.cause": "\(cause)"])
        }
        let pending = pendingReplies
        pendingReplies = [:]
        for entry in pending.values { entry.waiter.resolve(.failure(cause)) }
        for channel in allChannels { perform(channel.step { $0.socketDropped(cause: cause) }, on: channel) }
    }

    // MARK: - Inbound

    private func handle(_ message: PhoenixMessage) {
        if message.event == PhoenixEvent.reply, let ref = message.ref {
            if message.topic == PhoenixEvent.phoenixTopic { heartbeat?.replied(ref: ref) }
            // The join is marked here, in frame order, so `.subscribed` precedes the `presence_state` after it.
            if message.replyStatus == "ok", let channel = channel(topic: message.topic) {
                perform(channel.step { $0.joinAccepted(ref: ref) }, on: channel)
            }
            if let entry = pendingReplies.removeValue(forKey: ref) {
                entry.waiter.resolve(.success(message))
                return
            }
        }
        guard let channel = channel(topic: message.topic) else { return }
        // vsn 1.0.0 servers never send join_ref; their phx_close/phx_error carry the join ref as `ref`.
        let frameJoinRef = message.joinRef ?? ([PhoenixEvent.close, PhoenixEvent.error].contains(message.event) ? message.ref : nil)
        guard channel.machine.accepts(joinRef: frameJoinRef) else {
            logger.debug(
                "Stale Realtime frame ignored", metadata: ["realtime.topic": "\(message.topic)", "realtime.event": "\(message.event)"])
            return
        }
        switch message.event {
        case PhoenixEvent.presenceState:
            let (state, waiter) = channel.syncPresence(message.payload)
            waiter?.resolve(.success(state))
            channel.emit(.presenceSync(state))
        case PhoenixEvent.presenceDiff:
            channel.applyPresenceDiff(message.payload)
            channel.emit(.presenceDiff(diff: message.payload))
        case PhoenixEvent.broadcast:
            let payload = message.payload
            channel.emit(
                .broadcast(event: payload["event"]?.stringValue ?? "", payload: payload["payload"] ?? .null, meta: payload["meta"]))
        case PhoenixEvent.system:
            guard message.payload["status"]?.stringValue == "error" else { return }
            let error = RealtimeError(.system, reason: message.payload["message"]?.stringValue ?? "system error", payload: message.payload)
            perform(channel.step { $0.systemErrorReceived(error) }, on: channel)
        case PhoenixEvent.error:
            let error = RealtimeError(.channelError, reason: "channel process crashed (phx_error)", payload: message.payload)
            perform(channel.step { $0.channelCrashed(error) }, on: channel)
        case PhoenixEvent.close:
            perform(channel.step { $0.serverClosed() }, on: channel)
        default:
            break
        }
    }

    /// Carries out what a channel's state machine decided, in order.
    private func perform(_ actions: [ChannelStateMachine.Action], on channel: RealtimeChannel) {
        for action in actions {
            switch action {
            case .announceJoined: channel.emit(.subscribed)
            case .report(let error): channel.emit(.error(error))
            case .rejoin: rejoinRequests?.yield(channel)
            case .remove(let cause): remove(channel, error: cause)
            }
        }
    }

    // MARK: - Outbound

    private func makeRef() -> String {
        nextRef += 1
        return String(nextRef)
    }

    private func write(_ message: PhoenixMessage) async throws {
        guard let writer else { throw RealtimeError(.socketClosed, reason: "socket not open") }
        try await writer.write(.text(serializer.encode(message)))
    }

    /// Sends `message` with a fresh ref (unless it has one) and waits for the reply with that ref.
    private func push(_ message: PhoenixMessage) async throws -> PhoenixMessage {
        var message = message
        let ref = message.ref ?? makeRef()
        message.ref = ref
        let waiter = OneShot<PhoenixMessage>()
        pendingReplies[ref] = (message.topic, waiter)
        do {
            try await write(message)
            return try await waiter.wait()
        } catch {
            pendingReplies[ref] = nil
            throw error
        }
    }

    private func waitUntilOpen() async throws {
        if writer != nil { return }
        if !registry.withLock({ $0.accepting }) { throw stopError ?? RealtimeError(.gaveUp, reason: "socket stopped") }
        let waiter = OneShot<Void>()
        openWaiters.append(waiter)
        try await waiter.wait()
    }

    // MARK: - Channel operations

    /// Joins `channel` (or waits for the join already running); see `RealtimeChannel.subscribe()`.
    func subscribe(_ channel: RealtimeChannel) async throws {
        let waiter = OneShot<Void>()
        switch channel.requestJoin(waiter: waiter) {
        case .ready: return
        case .removed(let cause): throw cause ?? RealtimeError(.channelClosed, reason: "channel \(channel.topic) was removed")
        case .wait: try await waiter.wait()
        case .join: try await runJoinLoop(channel, isRejoin: false)
        }
    }

    /// Rejoins `channel` after a socket drop or a crash, unless a join loop already runs or it was removed.
    private func rejoin(_ channel: RealtimeChannel) async throws {
        guard channel.step({ $0.beginRejoin() }) else { return }
        try await runJoinLoop(channel, isRejoin: true)
    }

    /// Runs the join loop the machine handed to this caller, then resolves the callers waiting for it.
    private func runJoinLoop(_ channel: RealtimeChannel, isRejoin: Bool) async throws {
        do {
            try await joinLoop(channel, isRejoin: isRejoin)
            endJoinLoop(channel, .success(()))
        } catch {
            endJoinLoop(channel, .failure(error))
            throw error
        }
    }

    private func endJoinLoop(_ channel: RealtimeChannel, _ result: Result<Void, any Error>) {
        for waiter in channel.endJoinLoop() { waiter.resolve(result) }
    }

    /// The join loop: one attempt per admitted slot, each raced against the deadline the channel's state machine
    /// set; the machine decides between a jittered retry (slept until the instant it chose) and giving up (which
    /// removes the channel).
    private func joinLoop(_ channel: RealtimeChannel, isRejoin: Bool) async throws {
        while true {
            if channel.machine.isRemoved {
                throw channel.removalError ?? RealtimeError(.gaveUp, reason: "channel \(channel.topic) was removed")
            }
            try await gate.admit()
            let started = ContinuousClock.now
            let ref = makeRef()
            let deadline = channel.step { $0.startJoin(ref: ref, now: time.now()) }
            let result: Result<Void, any Error>
            do {
                try await withDeadline(deadline, time: time) { try await self.attemptJoin(channel, ref: ref) }
                result = .success(())
            } catch is CancellationError {
                gate.finish()
                await abandonAttempt(channel, ref: ref)
                throw CancellationError()
            } catch is TimeoutError {
                let limit = channel.machine.joinTimeout
                result = .failure(
                    RealtimeError(
                        .timedOut, reason: "connect + join\(channel.options.presenceEnabled ? " + presence_state" : "") took over \(limit)")
                )
            } catch {
                result = .failure(error)
            }
            gate.finish()
            switch result {
            case .success:
                monitor.succeeded(after: ContinuousClock.now - started)
                logger.debug("Realtime channel joined", metadata: ["realtime.topic": "\(channel.topic)", "realtime.rejoin": "\(isRejoin)"])
                return
            case .failure(let error):
                await abandonAttempt(channel, ref: ref)
                if channel.machine.isRemoved { throw error }
                monitor.failed(error, at: time.now())
                let decision = channel.step { $0.failed(ErrorClassifier.classify(error), now: time.now(), unit: unit()) }
                switch decision {
                case .retry(let at, let delay):
                    logger.debug(
                        "Realtime join failed; retrying",
                        metadata: ["realtime.topic": "\(channel.topic)", "realtime.delay": "\(delay)", "error": "\(error)"]
                    )
                    channel.emit(.error(error as? RealtimeError ?? RealtimeError(.socketClosed, reason: String(describing: error))))
                    try await time.sleep(until: at)
                case .giveUp(let reason, let attempts):
                    let why = reason == .nonRetryable ? "not retryable" : "retries exhausted"
                    let final = RealtimeError(.gaveUp, reason: "\(why) after \(attempts) attempt(s): \(error)")
                    logger.warning("Realtime channel given up", metadata: ["realtime.topic": "\(channel.topic)", "error": "\(error)"])
                    remove(channel, error: final)
                    throw final
                }
            }
        }
    }

    private func attemptJoin(_ channel: RealtimeChannel, ref: String) async throws {
        try await waitUntilOpen()
        let presenceWaiter = channel.expectPresenceState()
        let payload = channel.options.joinPayload(
            accessToken: configuration.accessToken ?? SupabaseKeyKind.realtimeAccessToken(for: configuration.apiKey))
        try await gate.sendSlot()
        let reply = try await push(PhoenixMessage(joinRef: ref, ref: ref, topic: channel.topic, event: PhoenixEvent.join, payload: payload))
        guard reply.replyStatus == "ok" else {
            let response = reply.replyResponse
            throw RealtimeError(.joinRefused, reason: RealtimeError.reason(ofReply: response), payload: response)
        }
        guard channel.machine.state == .joined(joinRef: ref) else {
            throw RealtimeError(.channelClosed, reason: "join \(ref) was superseded")
        }
        if let presenceWaiter { _ = try await presenceWaiter.wait() }
    }

    /// Cleans up after a failed attempt: no reply or presence waiter is left, and the server drops the join.
    private func abandonAttempt(_ channel: RealtimeChannel, ref: String) async {
        pendingReplies[ref]?.waiter.resolve(.failure(CancellationError()))
        pendingReplies[ref] = nil
        channel.dropPresenceWaiter()
        if writer != nil {
            try? await write(PhoenixMessage(joinRef: ref, ref: makeRef(), topic: channel.topic, event: PhoenixEvent.leave))
        }
    }

    private func remove(_ channel: RealtimeChannel, error: RealtimeError?) {
        unregister(channel)
        let cause = error ?? RealtimeError(.channelClosed, reason: "channel \(channel.topic) left")
        for (ref, entry) in pendingReplies where entry.topic == channel.topic {
            pendingReplies[ref] = nil
            entry.waiter.resolve(.failure(cause))
        }
        channel.finish(error)
    }

    /// Leaves `channel` (waiting at most the connect timeout for the reply) and removes it.
    func leave(_ channel: RealtimeChannel) async {
        if let joinRef = channel.machine.joinRef, writer != nil {
            _ = try? await withTimeout(configuration.connectTimeout, time: time) {
                try await self.push(PhoenixMessage(joinRef: joinRef, topic: channel.topic, event: PhoenixEvent.leave))
            }
        }
        remove(channel, error: nil)
    }

    /// Sends a presence `track`/`untrack`, first waiting until the channel's budget allows it.
    func presence(_ channel: RealtimeChannel, event: String, payload: JSONValue?) async throws {
        while true {
            let now = time.now()
            let (spent, next) = channel.spendPresenceBudget(now: now)
            if spent { break }
            try await time.sleep(.seconds(double: max(next.timeIntervalSince(now), 0.001)))
        }
        var body: [String: JSONValue] = ["type": "presence", "event": .string(event)]
        if let payload { body["payload"] = payload }
        try await channelPush(channel, event: PhoenixEvent.presence, payload: .object(body), expectReply: true)
    }

    /// Sends a broadcast; waits for the acknowledgement when the channel asked for acks.
    func broadcast(_ channel: RealtimeChannel, event: String, payload: JSONValue) async throws {
        let body: JSONValue = ["type": "broadcast", "event": .string(event), "payload": payload]
        try await channelPush(channel, event: PhoenixEvent.broadcast, payload: body, expectReply: channel.options.broadcastAck)
    }

    private func channelPush(_ channel: RealtimeChannel, event: String, payload: JSONValue, expectReply: Bool) async throws {
        let machine = channel.machine
        guard machine.isJoined, let joinRef = machine.joinRef else {
            throw RealtimeError(.pushRefused, reason: "channel \(channel.topic) is not joined")
        }
        let message = PhoenixMessage(joinRef: joinRef, topic: channel.topic, event: event, payload: payload)
        guard expectReply else {
            var unacknowledged = message
            unacknowledged.ref = makeRef()
            try await write(unacknowledged)
            return
        }
        let reply: PhoenixMessage
        do {
            reply = try await withTimeout(configuration.connectTimeout, time: time) { try await self.push(message) }
        } catch let error as TimeoutError {
            throw RealtimeError(.timedOut, reason: "no reply to \(event) within \(error.limit)")
        }
        guard reply.replyStatus == "ok" else {
            throw RealtimeError(.pushRefused, reason: RealtimeError.reason(ofReply: reply.replyResponse), payload: reply.replyResponse)
        }
    }
}
