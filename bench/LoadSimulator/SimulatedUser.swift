import Foundation
import Logging
import Shared

/// One simulated browser: who it is and what it will do, decided at arrival from the run's seed.
struct SimulatedUser: Sendable {
    /// The user id (`<prefix>-<n>`).
    var id: String
    /// The continent it asks for.
    var continent: String
    /// A leaver closes its tab this long after its enqueue, unless a match reached it first.
    var leaveAfter: Duration?
    /// Whether it skips its first partner (halfway through its stay in the room).
    var skipsFirstPartner: Bool
    /// The end of the drain: a user still waiting then was never told anything.
    var deadline: ContinuousClock.Instant
    /// The longest a user waits after an enqueue before it counts as untold (nil: until `deadline`).
    var maxWait: Duration?

    /// When a wait that starts `now` ends as untold.
    func waitEnds(from now: ContinuousClock.Instant) -> ContinuousClock.Instant {
        maxWait.map { min(deadline, now + $0) } ?? deadline
    }
}

/// What a user's loop waits for: a channel event, or the timer of the current phase.
private enum Input: Sendable {
    case event(ChannelEvent)
    case timer(Int)
}

/// Where a user is in its visit.
private enum Phase {
    /// Queued since `since`; `leaving` for a leaver who has not been matched.
    case waiting(since: ContinuousClock.Instant)
    /// In `room` with `partner`; `skipping` when it will skip.
    case inRoom(RealtimeChannel?, room: String, partner: String, skipping: Bool)
}

/// A user's visit, as the web client makes it: sign-up, its own Realtime socket, `global:lobby` presence
/// `{status}`, `user:<id>`, the enqueue through the app server, then the room (joined, tracked, closed with
/// `room_closed`), a skip when it was drawn, and the socket closed when the visit ends.
struct Visit: Sendable {
    let options: SimulationOptions
    let app: any AppServer
    let broadcasts: BroadcastClient
    let tally: Tally
    let logger: Logger

    /// Runs the visit of `user` to its end; everything it saw goes to the tally.
    func run(_ user: SimulatedUser) async {
        tally.arrived()
        do {
            try await app.createUser(user.id, now: Date())
        } catch {
            tally.failed("user row")
            logger.warning("User row not written", metadata: ["user.id": "\(user.id)", "error": "\(error)"])
            return
        }
        var configuration = RealtimeConfiguration(url: options.url, apiKey: options.apiKey)
        configuration.maxChannelsPerConnection = 4
        // The pool closes a socket without channels at its next heartbeat; a short beat closes a finished
        // visit's socket within seconds (realtime-js beats every 25 s), so sockets do not pile up on long runs.
        configuration.heartbeatInterval = Self.heartbeat
        let client = RealtimeClient(configuration: configuration, logger: logger)
        await withDiscardingTaskGroup { group in
            group.addTask {
                do {
                    try await client.run()
                } catch {
                    logger.debug("Realtime client ended", metadata: ["error": "\(error)"])
                }
            }
            let channels = await withDiscardingTaskGroup { visitGroup in
                let (inputs, feed) = AsyncStream.makeStream(of: Input.self)
                let channels = await visit(user, client: client, inputs: inputs, feed: feed, group: &visitGroup)
                feed.finish()
                visitGroup.cancelAll()
                return channels
            }
            // The tab closes: every channel leaves (presence goes at once), then the empty socket retires.
            for channel in channels { await channel.unsubscribe() }
            let clock = ContinuousClock()
            let giveUp = clock.now + Self.heartbeat * 2
            while client.stats().sockets > 0, clock.now < giveUp {
                do {
                    try await Task.sleep(for: .milliseconds(250))
                } catch {
                    break
                }
            }
            group.cancelAll()
        }
    }

    /// The simulated clients' heartbeat interval.
    static let heartbeat = Duration.seconds(5)

    /// The visit up to the moment the tab closes; returns the channels to leave then.
    private func visit(
        _ user: SimulatedUser, client: RealtimeClient, inputs: AsyncStream<Input>, feed: AsyncStream<Input>.Continuation,
        group: inout DiscardingTaskGroup
    ) async -> [RealtimeChannel] {
        let lobby = await client.channel(
            "global:lobby", options: ChannelOptions(presenceKey: user.id, presenceEnabled: true), stateOnly: true)
        let inbox = await client.channel(
            "user:\(user.id)", options: ChannelOptions(broadcastAck: true, broadcastSelf: true, presenceKey: user.id))
        do {
            try await lobby.subscribe()
            try await inbox.subscribe()
            // The web client says `waiting` before it asks the server to queue it (contract §2: humans track `{status}`).
            // It stays `waiting` for the whole visit: the web client's `matched` and its return to `waiting` after
            // a skip would spend the channel's presence budget (5 calls per 30 s) and change no decision, since a
            // matched user has no message in the queue.
            try await lobby.track(["status": "waiting"])
        } catch {
            tally.failed("realtime")
            logger.warning("Realtime join failed", metadata: ["user.id": "\(user.id)", "error": "\(error)"])
            return [lobby, inbox]
        }
        group.addTask {
            for await event in inbox.events { feed.yield(.event(event)) }
        }
        do {
            try await app.enqueue(user.id, continent: user.continent)
        } catch {
            tally.failed("enqueue")
            logger.warning("Enqueue failed", metadata: ["user.id": "\(user.id)", "error": "\(error)"])
            return [lobby, inbox]
        }
        let clock = ContinuousClock()
        tally.enqueued()
        var phase = Phase.waiting(since: clock.now)
        var generation = 0
        var skipsLeft = user.skipsFirstPartner
        var leaving = user.leaveAfter != nil
        func arm(_ instant: ContinuousClock.Instant) {
            generation += 1
            let mine = generation
            group.addTask {
                do {
                    try await Task.sleep(until: instant, clock: clock)
                    feed.yield(.timer(mine))
                } catch {
                    // Cancelled: the visit ended before its timer.
                }
            }
        }
        arm(user.leaveAfter.map { clock.now + $0 } ?? user.waitEnds(from: clock.now))

        for await input in inputs {
            switch input {
            case .timer(let fired):
                guard fired == generation else { continue }
                switch phase {
                case .waiting(let since):
                    tally.stoppedWaiting()
                    if leaving {
                        tally.left()
                    } else {
                        tally.neverTold()
                        logger.warning(
                            "Never told", metadata: ["user.id": "\(user.id)", "waited_s": "\((clock.now - since).seconds)"])
                    }
                    return [lobby, inbox]
                case .inRoom(let room, let roomID, let partner, let skipping):
                    await close(room, user: user)
                    guard skipping else { return [lobby, inbox] }
                    do {
                        try await app.skip(roomID, skipper: user.id, partner: partner, continent: user.continent, broadcasts: broadcasts)
                        tally.skipped(error: false)
                    } catch {
                        // The app's call failed part way: this user may not be queued, so it does not wait to be
                        // told (a failed call is the simulator's to count, not the matchmaker's).
                        tally.skipped(error: true)
                        logger.warning("Skip failed", metadata: ["user.id": "\(user.id)", "error": "\(String(reflecting: error))"])
                        return [lobby, inbox]
                    }
                    tally.enqueued()
                    phase = .waiting(since: clock.now)
                    arm(user.waitEnds(from: clock.now))
                }
            case .event(.broadcast(let event, let payload, _)):
                switch event {
                case "stranger_matched":
                    guard let room = payload["room"], let roomID = room["id"]?.stringValue else {
                        tally.failed("matched without a room")
                        continue
                    }
                    let enqueuedAt: ContinuousClock.Instant
                    switch phase {
                    case .waiting(let since):
                        enqueuedAt = since
                        tally.stoppedWaiting()
                    case .inRoom(let current, let currentID, _, _):
                        if currentID == roomID {
                            tally.repeatedNotice()
                            continue
                        }
                        tally.doubleMatch()
                        logger.warning(
                            "Told of a second room",
                            metadata: ["user.id": "\(user.id)", "room.first": "\(currentID)", "room.second": "\(roomID)"])
                        await close(current, user: user)
                        enqueuedAt = clock.now
                    }
                    let partner = Self.partner(in: room, of: user.id)
                    tally.matched(
                        room: roomID, partner: partner, partnerIsSimulated: partner.hasPrefix(options.idPrefix + "-"),
                        side: Tally.Side(enqueuedAt: enqueuedAt, toldAt: clock.now))
                    leaving = false
                    // Skip halfway through the stay, before the partner's own stay ends.
                    let skipping = skipsLeft && clock.now + options.roomStay + .seconds(10) < user.deadline
                    skipsLeft = skipsLeft && !skipping
                    let channel = await enter(roomID, client: client, user: user)
                    phase = .inRoom(channel, room: roomID, partner: partner, skipping: skipping)
                    arm(clock.now + (skipping ? options.roomStay / 2 : options.roomStay))
                case "stranger_skipped":
                    guard case .inRoom(let room, _, _, _) = phase else { continue }
                    await leave(room)
                    // The skipper's server call enqueues this user right after telling it.
                    tally.enqueued()
                    phase = .waiting(since: clock.now)
                    arm(user.waitEnds(from: clock.now))
                case "stranger_no_matches":
                    guard case .waiting = phase else { continue }
                    tally.stoppedWaiting()
                    tally.noMatch()
                    return [lobby, inbox]
                default:
                    continue
                }
            case .event(.closed(let error)):
                tally.failed("user channel closed")
                logger.warning("User channel closed", metadata: ["user.id": "\(user.id)", "error": "\(String(describing: error))"])
                // Counted as a failure above, not as untold: without its channel the user cannot hear a notice.
                if case .waiting = phase { tally.stoppedWaiting() }
                return [lobby, inbox]
            case .event:
                continue
            }
        }
        return [lobby, inbox]
    }

    /// Joins `room:<id>` as the web client does (broadcast self and ack, presence key = user id) and tracks
    /// `{user_id, name}`, so a bot partner sees the human arrive and, later, leave.
    private func enter(_ roomID: String, client: RealtimeClient, user: SimulatedUser) async -> RealtimeChannel? {
        let room = await client.channel(
            "room:\(roomID)", options: ChannelOptions(broadcastAck: true, broadcastSelf: true, presenceKey: user.id, presenceEnabled: true),
            stateOnly: true)
        do {
            try await room.subscribe()
            try await room.track(["user_id": .string(user.id), "name": .string(user.id)])
            return room
        } catch {
            tally.failed("room join")
            logger.warning("Room join failed", metadata: ["user.id": "\(user.id)", "error": "\(error)"])
            await room.unsubscribe()
            return nil
        }
    }

    /// The Leave button: `room_closed {leaverId}`, then the channel is left.
    private func close(_ room: RealtimeChannel?, user: SimulatedUser) async {
        guard let room else { return }
        do {
            try await room.broadcast(event: "room_closed", payload: ["leaverId": .string(user.id)])
        } catch {
            tally.failed("room_closed")
        }
        await room.unsubscribe()
    }

    private func leave(_ room: RealtimeChannel?) async {
        await room?.unsubscribe()
    }

    /// The other user of `room` (`name` is `"<user1>-<user2>"`, `owner_id` is user1).
    static func partner(in room: JSONValue, of userID: String) -> String {
        let owner = room["owner_id"]?.stringValue ?? ""
        if owner != userID { return owner }
        let name = room["name"]?.stringValue ?? ""
        return String(name.dropFirst(owner.count + 1))
    }
}
