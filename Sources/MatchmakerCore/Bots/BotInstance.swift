import Foundation
import Logging
import Shared

/// One bot: the thin async shell around `BotStateMachine`.
///
/// `run()` writes the bot's `user` row and joins `user:<id>` (one channel, shared with other bots' on a pooled
/// socket; no lobby presence: the bot registry says when it is available), then turns channel events and timers
/// into machine events and performs the actions the machine returns. `stop()` asks it to leave politely; `run()`
/// returns once it has. Its manager holds its identity's lease.
public struct BotInstance: Sendable {
    /// Inputs of the shell's loop.
    enum Input: Sendable {
        /// An event for the machine.
        case event(BotStateMachine.Event)
        /// A room channel joined for `roomID`.
        case roomReady(String, RealtimeChannel)
        /// The user channel is gone for good.
        case lost(RealtimeError)
    }

    /// Who the bot is.
    public let identity: BotIdentity
    private let client: RealtimeClient
    private let store: BotStore
    private let time: Timekeeper
    private let timings: BotTimings
    private let seed: UInt64
    private let logger: Logger
    private let observe: @Sendable (BotPhase) -> Void
    private let inputs: AsyncStream<Input>
    private let sink: AsyncStream<Input>.Continuation

    /// Creates a bot; `observe` hears every phase change (the manager's stats).
    public init(
        identity: BotIdentity, client: RealtimeClient, store: BotStore, time: Timekeeper = .system, timings: BotTimings = BotTimings(),
        seed: UInt64 = .random(in: .min ... .max), logger: Logger, observe: @escaping @Sendable (BotPhase) -> Void = { _ in }
    ) {
        self.identity = identity
        self.client = client
        self.store = store
        self.time = time
        self.timings = timings
        self.seed = seed
        var logger = logger
        logger[metadataKey: "bot.id"] = "\(identity.id)"
        self.logger = logger
        self.observe = observe
        (inputs, sink) = AsyncStream.makeStream(of: Input.self)
    }

    /// Asks the bot to close its conversation with `room_closed`, leave its channels and return from `run()`.
    public func stop() {
        sink.yield(.event(.stop))
    }

    /// Runs the bot until `stop()`.
    /// - Throws: `BotUserRowError` when its `user` row could not be written (it then joins nothing and never
    ///   becomes available), or the `RealtimeError` that made its user channel give up.
    public func run() async throws {
        let id = identity.id
        observe(.starting)
        // Without its row the bot can never be put in a room (foreign keys): it never becomes available.
        // A transient failure (5xx, 429, a timeout) is retried a few times first; a refusal (4xx) is final at once.
        do {
            try await RetryRunner(backoff: .notification, attemptTimeout: nil, time: time).run { [store, identity, time] _ in
                try await store.upsertUser(identity, now: time.now())
            }
        } catch let failure as RetryFailure {
            observe(.stopped)
            throw BotUserRowError(botID: id, underlying: failure.lastError)
        } catch {
            observe(.stopped)
            throw error
        }
        let inbox = await client.channel("user:\(id)", options: ChannelOptions(broadcastAck: true, broadcastSelf: true, presenceKey: id))
        do {
            try await inbox.subscribe()
        } catch {
            await inbox.unsubscribe()
            observe(.stopped)
            throw error
        }
        logger.debug("Bot joined its channel")
        var failure: RealtimeError?
        var rooms: [String: RealtimeChannel] = [:]
        await withDiscardingTaskGroup { group in
            group.addTask { await self.forwardInbox(inbox) }
            var machine = BotStateMachine(botID: id, botName: identity.name, profile: identity.profile, timings: timings, seed: seed)
            var pending: [BotStateMachine.Event] = [.started]
            var iterator = inputs.makeAsyncIterator()
            loop: while true {
                let event: BotStateMachine.Event
                if !pending.isEmpty {
                    event = pending.removeFirst()
                } else {
                    guard let input = await iterator.next() else { break }
                    switch input {
                    case .event(let next):
                        event = next
                    case .roomReady(let roomID, let channel):
                        guard machine.roomID == roomID else {
                            await channel.unsubscribe()
                            continue
                        }
                        rooms[roomID] = channel
                        event = .roomJoined(roomID: roomID)
                    case .lost(let error):
                        failure = error
                        event = .stop
                    }
                }
                let actions = machine.handle(event, now: time.now())
                observe(machine.phase)
                for action in actions {
                    switch action {
                    case .becomeAvailable(let finishedRoom):
                        await becomeAvailable(after: finishedRoom)
                    case .joinRoom(let roomID):
                        group.addTask { await self.joinRoom(roomID) }
                    case .leaveRoom(let roomID):
                        await rooms.removeValue(forKey: roomID)?.unsubscribe()
                    case .typing(let roomID):
                        await broadcast(on: rooms[roomID], event: "typing", payload: ["senderId": .string(id)])
                    case .send(let message):
                        await broadcast(on: rooms[message.roomID], event: "message", payload: message.payload)
                        do { try await store.insert(message) } catch {
                            logger.warning("Bot message not stored", metadata: ["match.room_id": "\(message.roomID)", "error": "\(error)"])
                        }
                    case .close(let roomID):
                        await broadcast(on: rooms[roomID], event: "room_closed", payload: ["leaverId": .string(id)])
                        logger.debug("Bot left the room", metadata: ["match.room_id": "\(roomID)"])
                    case .record(let analytics):
                        do { try await store.record(analytics) } catch {
                            logger.warning(
                                "Bot analytics not stored", metadata: ["match.room_id": "\(analytics.conversationID)", "error": "\(error)"])
                        }
                    case .schedule(let timer, let delay):
                        group.addTask {
                            guard (try? await time.sleep(delay)) != nil else { return }
                            sink.yield(.event(.timer(timer)))
                        }
                    case .finish:
                        break loop
                    }
                }
            }
            group.cancelAll()
        }
        for room in rooms.values { await room.unsubscribe() }
        await inbox.unsubscribe()
        sink.finish()
        observe(.stopped)
        logger.debug("Bot stopped")
        if let failure { throw failure }
    }

    private func forwardInbox(_ inbox: RealtimeChannel) async {
        for await event in inbox.events {
            switch event {
            case .broadcast("stranger_matched", let payload, _):
                guard let roomID = payload["room"]?["id"]?.stringValue else {
                    logger.warning("Match notice without a room id")
                    continue
                }
                sink.yield(.event(.matched(roomID: roomID)))
            case .broadcast("stranger_skipped", _, _):
                sink.yield(.event(.skipped))
            case .closed(let error?):
                sink.yield(.lost(error))
            default:
                break
            }
        }
    }

    /// Joins `room:<id>`, tracks `{user_id, name}`, then forwards the room's events until the bot leaves it.
    private func joinRoom(_ roomID: String) async {
        let room = await client.channel(
            "room:\(roomID)",
            options: ChannelOptions(broadcastAck: true, broadcastSelf: true, presenceKey: identity.id, presenceEnabled: true))
        do {
            try await room.subscribe()
            try await room.track(["user_id": .string(identity.id), "name": .string(identity.name)])
        } catch {
            logger.warning("Bot could not join its room", metadata: ["match.room_id": "\(roomID)", "error": "\(error)"])
            await room.unsubscribe()
            sink.yield(.event(.roomJoinFailed(roomID: roomID)))
            return
        }
        sink.yield(.roomReady(roomID, room))
        for await event in room.events {
            switch event {
            case .broadcast("message", let payload, _):
                sink.yield(
                    .event(
                        .message(
                            roomID: roomID, senderID: payload["senderId"]?.stringValue ?? "",
                            content: payload["content"]?.stringValue ?? "")))
            case .broadcast("room_closed", let payload, _):
                sink.yield(.event(.roomClosed(roomID: roomID, leaverID: payload["leaverId"]?.stringValue ?? "")))
            case .presenceSync, .presenceDiff:
                sink.yield(.event(.roomPresence(roomID: roomID, keys: Set(room.presence.entries.keys))))
            default:
                break
            }
        }
    }

    /// Tells the registry the bot is idle, with up to three attempts one second apart per attempt, then stamps
    /// `last_active`. A bot whose readiness never reached the registry is simply not claimed; the manager's
    /// next lease renewal shows it and tries again.
    private func becomeAvailable(after finishedRoom: String?) async {
        for attempt in 1...3 {
            do {
                try await store.ready([identity.id], after: finishedRoom)
                break
            } catch {
                logger.warning("Bot readiness not recorded", metadata: ["bot.attempt": "\(attempt)", "error": "\(error)"])
                guard attempt < 3, (try? await time.sleep(.seconds(attempt))) != nil else { return }
            }
        }
        do { try await store.touch(identity.id, now: time.now()) } catch {
            logger.debug("Bot last_active not stamped", metadata: ["error": "\(error)"])
        }
    }

    private func broadcast(on channel: RealtimeChannel?, event: String, payload: JSONValue) async {
        guard let channel else { return }
        do { try await channel.broadcast(event: event, payload: payload) } catch {
            logger.warning(
                "Bot broadcast failed", metadata: ["realtime.topic": "\(channel.topic)", "realtime.event": "\(event)", "error": "\(error)"])
        }
    }
}

/// A bot's `user` row could not be written, so the bot did not start: it joined no channel and never became available.
public struct BotUserRowError: Error, CustomStringConvertible, ClassifiedError {
    /// The bot's `user.id`.
    public var botID: String
    /// Why the write failed (an `UpstreamError` with PostgREST's code, such as `23502` or `23505`).
    public var underlying: any Error

    public var description: String { "user row of \(botID) not written: \(underlying)" }

    /// The write's own class: a 4xx (the table refuses the row) is final, a 5xx or a timeout may pass.
    public var failureClass: FailureClass { ErrorClassifier.classify(underlying) }
}
