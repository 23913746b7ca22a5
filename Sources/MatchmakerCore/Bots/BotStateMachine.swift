import Foundation
import Shared

/// A bot's whole behaviour as a value (`docs/contract.md` §8, `docs/bots.md`): fed events with `now`, it returns the
/// actions the async shell performs. Randomness comes from a seeded generator, so a test replays it exactly.
public struct BotStateMachine: Sendable {
    /// Something that happened to the bot.
    public enum Event: Sendable, Hashable {
        /// The user channel is joined.
        case started
        /// `stranger_matched` on `user:<botId>`.
        case matched(roomID: String)
        /// `stranger_skipped` on `user:<botId>`: the partner skipped the bot.
        case skipped
        /// The room channel is joined.
        case roomJoined(roomID: String)
        /// The room channel could not be joined.
        case roomJoinFailed(roomID: String)
        /// A room `message` broadcast.
        case message(roomID: String, senderID: String, content: String)
        /// A room `room_closed` broadcast.
        case roomClosed(roomID: String, leaverID: String)
        /// The room's presence keys now.
        case roomPresence(roomID: String, keys: Set<String>)
        /// A timer scheduled by `.schedule` fired.
        case timer(Int)
        /// `stop()`: leave politely and end.
        case stop
    }

    /// What the shell must do, in order.
    public enum Action: Sendable, Hashable {
        /// Tell the bot registry the bot is idle (`ready_bots`, retried) and touch `last_active`: from now on
        /// the matchmaker may claim it for a room. `after` is the room it just left (nil: it was in none), so
        /// that a retry never undoes a claim made meanwhile.
        case becomeAvailable(after: String?)
        /// Join `room:<id>` (broadcast self + ack, presence key = bot id) and track `{user_id, name}`.
        case joinRoom(String)
        /// Leave `room:<id>`.
        case leaveRoom(String)
        /// Broadcast `typing {senderId}`.
        case typing(roomID: String)
        /// Broadcast the `message` payload and insert the `message` row.
        case send(BotMessage)
        /// Broadcast `room_closed {leaverId}`.
        case close(roomID: String)
        /// Insert a `bot_analytics` row.
        case record(BotAnalytics)
        /// Deliver `.timer(id)` after `delay`.
        case schedule(timer: Int, after: Duration)
        /// Leave the user channel; the bot is done.
        case finish
    }

    private enum Timer: Sendable, Hashable {
        case becomeAvailable(after: String?)
        case greet(roomID: String)
        case typing(roomID: String, incoming: String)
        case reply(roomID: String, content: String)
    }

    private struct Conversation: Sendable, Hashable {
        var roomID: String
        var startedAt: Date
        var received = 0
        var partnerSeen = false
        var joined = false
    }

    /// The bot's user id.
    public let botID: String
    /// The bot's display name.
    public let botName: String
    /// Its personality and budgets.
    public let profile: BotProfile
    /// Its pauses.
    public let timings: BotTimings
    /// Where the bot is.
    public private(set) var phase: BotPhase = .starting
    private var random: SplitMix64
    private var ids: RoomIDGenerator
    private var conversation: Conversation?
    /// Asked to stop while its room join was in flight: it stops once the join settles.
    private var stopping = false
    private var timers: [Int: Timer] = [:]
    private var nextTimer = 0

    /// Creates a bot that has not started.
    public init(botID: String, botName: String, profile: BotProfile, timings: BotTimings = BotTimings(), seed: UInt64) {
        self.botID = botID
        self.botName = botName
        self.profile = profile
        self.timings = timings
        random = SplitMix64(seed: seed)
        ids = RoomIDGenerator(seed: seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// The room of the conversation in progress, if any.
    public var roomID: String? { conversation?.roomID }

    /// Feeds one event at `now`; returns the actions to perform, in order.
    public mutating func handle(_ event: Event, now: Date) -> [Action] {
        if phase == .stopped { return [] }
        switch event {
        case .started:
            guard phase == .starting else { return [] }
            phase = .idle
            return [schedule(.becomeAvailable(after: nil), in: timings.beforeQueue)]
        case .matched(let roomID):
            guard phase == .waiting else { return [] }
            phase = .joiningRoom
            conversation = Conversation(roomID: roomID, startedAt: now)
            return [.joinRoom(roomID)]
        case .skipped:
            guard let current = conversation else { return [] }
            conversation = nil
            if stopping { return [.leaveRoom(current.roomID)] + handle(.stop, now: now) }
            phase = .waiting
            return [.leaveRoom(current.roomID), .becomeAvailable(after: current.roomID)]
        case .roomJoined(let roomID):
            guard phase == .joiningRoom, conversation?.roomID == roomID else { return [] }
            phase = .inRoom
            conversation?.joined = true
            if stopping { return handle(.stop, now: now) }
            return [schedule(.greet(roomID: roomID), in: timings.greeting)]
        case .roomJoinFailed(let roomID):
            guard conversation?.roomID == roomID else { return [] }
            if stopping {
                conversation = nil
                return handle(.stop, now: now)
            }
            conversation = nil
            phase = .idle
            return [.leaveRoom(roomID), schedule(.becomeAvailable(after: roomID), in: timings.requeue)]
        case .message(let roomID, let senderID, let content):
            guard phase == .inRoom, conversation?.roomID == roomID, senderID != botID else { return [] }
            conversation?.received += 1
            conversation?.partnerSeen = true
            return [schedule(.typing(roomID: roomID, incoming: content), in: timings.thinking)]
        case .roomClosed(let roomID, let leaverID):
            guard conversation?.roomID == roomID, leaverID != botID else { return [] }
            return partnerLeft(now: now)
        case .roomPresence(let roomID, let keys):
            guard phase == .inRoom, var current = conversation, current.roomID == roomID else { return [] }
            let partnerHere = !keys.subtracting([botID]).isEmpty
            if partnerHere {
                current.partnerSeen = true
                conversation = current
                return []
            }
            return current.partnerSeen ? partnerLeft(now: now) : []
        case .timer(let id):
            guard let timer = timers.removeValue(forKey: id) else { return [] }
            return fire(timer, now: now)
        case .stop:
            if let current = conversation, !current.joined {
                // The partner was told about this room and may be in it: close it politely once the join
                // settles (it is bounded by the connect timeout), rather than vanish without `room_closed`.
                stopping = true
                timers = [:]
                return []
            }
            var actions: [Action] = []
            if let current = conversation {
                if current.joined {
                    actions += [.close(roomID: current.roomID), .record(analytics(current, now: now, botSkipped: true))]
                }
                actions.append(.leaveRoom(current.roomID))
            }
            conversation = nil
            timers = [:]
            phase = .stopped
            return actions + [.finish]
        }
    }

    private mutating func fire(_ timer: Timer, now: Date) -> [Action] {
        switch timer {
        case .becomeAvailable(let room):
            guard phase == .idle else { return [] }
            phase = .waiting
            return [.becomeAvailable(after: room)]
        case .greet(let roomID):
            guard phase == .inRoom, conversation?.roomID == roomID else { return [] }
            return [.send(message(BotProfile.greetings.randomElement(using: &random)!, roomID: roomID, now: now))]
        case .typing(let roomID, let incoming):
            guard phase == .inRoom, conversation?.roomID == roomID else { return [] }
            let content = profile.reply(to: incoming, using: &random)
            let typing = min(Double(content.count) / max(profile.typingSpeed, 1), timings.maxTyping)
            return [.typing(roomID: roomID), schedule(.reply(roomID: roomID, content: content), in: typing...typing)]
        case .reply(let roomID, let content):
            guard phase == .inRoom, let current = conversation, current.roomID == roomID else { return [] }
            var actions: [Action] = [.send(message(content, roomID: roomID, now: now))]
            if current.received >= profile.maxMessages, Double.random(in: 0..<1, using: &random) < profile.skipProbability {
                actions += [.close(roomID: roomID), .record(analytics(current, now: now, botSkipped: true))]
                actions += leave(roomID)
            }
            return actions
        }
    }

    private mutating func partnerLeft(now: Date) -> [Action] {
        guard let current = conversation else { return [] }
        var actions: [Action] = []
        if current.joined { actions.append(.record(analytics(current, now: now, botSkipped: false))) }
        return actions + leave(current.roomID)
    }

    private mutating func leave(_ roomID: String) -> [Action] {
        conversation = nil
        phase = .idle
        return [.leaveRoom(roomID), schedule(.becomeAvailable(after: roomID), in: timings.requeue)]
    }

    private mutating func schedule(_ timer: Timer, in range: ClosedRange<Double>) -> Action {
        nextTimer += 1
        timers[nextTimer] = timer
        let seconds = range.lowerBound == range.upperBound ? range.lowerBound : Double.random(in: range, using: &random)
        return .schedule(timer: nextTimer, after: .seconds(double: seconds))
    }

    private mutating func message(_ content: String, roomID: String, now: Date) -> BotMessage {
        BotMessage(id: ids.next(), roomID: roomID, senderID: botID, senderName: botName, content: content, createdAt: now)
    }

    private mutating func analytics(_ conversation: Conversation, now: Date, botSkipped: Bool) -> BotAnalytics {
        BotAnalytics(
            id: ids.next(), botID: botID, conversationID: conversation.roomID, messagesExchanged: conversation.received,
            conversationDuration: Int(now.timeIntervalSince(conversation.startedAt).rounded(.down)), humanSkipped: !botSkipped,
            botSkipped: botSkipped
        )
    }
}

/// A message the bot sends: broadcast as a human client would, and persisted in `message`.
public struct BotMessage: Sendable, Hashable {
    /// `message.id`, cuid2-shaped.
    public var id: String
    /// The room.
    public var roomID: String
    /// The bot.
    public var senderID: String
    /// The bot's display name.
    public var senderName: String
    /// The text.
    public var content: String
    /// When it was sent.
    public var createdAt: Date

    /// The room broadcast payload: `{id, content, senderId, roomId, createdAt, sender: {id, name, image}}`.
    public var payload: JSONValue {
        [
            "id": .string(id), "content": .string(content), "senderId": .string(senderID), "roomId": .string(roomID),
            "createdAt": .string(Timestamp.format(createdAt)),
            "sender": ["id": .string(senderID), "name": .string(senderName), "image": .null],
        ]
    }

    /// The `message` row.
    public var row: JSONValue {
        [
            "id": .string(id), "room_id": .string(roomID), "sender_id": .string(senderID), "content": .string(content),
            "created_at": .string(Timestamp.format(createdAt)),
        ]
    }
}

/// A `bot_analytics` row: how one conversation went.
public struct BotAnalytics: Sendable, Hashable {
    /// `bot_analytics.id`, cuid2-shaped.
    public var id: String
    /// The bot.
    public var botID: String
    /// The room.
    public var conversationID: String
    /// Messages received from the partner.
    public var messagesExchanged: Int
    /// Seconds from match to leaving.
    public var conversationDuration: Int
    /// The partner left first.
    public var humanSkipped: Bool
    /// The bot left first.
    public var botSkipped: Bool

    /// The row as PostgREST takes it.
    public var row: JSONValue {
        [
            "id": .string(id), "bot_id": .string(botID), "conversation_id": .string(conversationID),
            "messages_exchanged": .number(JSONNumber(messagesExchanged)),
            "conversation_duration": .number(JSONNumber(conversationDuration)),
            "human_skipped": .bool(humanSkipped), "bot_skipped": .bool(botSkipped),
        ]
    }
}
