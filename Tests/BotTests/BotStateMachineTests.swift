import Foundation
import MatchmakerCore
import Shared
import Testing

/// Drives a bot's state machine on synthetic instants and fires its timers by hand.
final class BotDriver {
    var machine: BotStateMachine
    var now = Date(timeIntervalSince1970: 1_800_000_000)
    var timers: [(id: Int, at: Date)] = []
    var log: [BotStateMachine.Action] = []

    init(profile: BotProfile = BotProfile.all[0], seed: UInt64 = 7) {
        machine = BotStateMachine(botID: "bot-1", botName: "Alex", profile: profile, timings: BotTimings(), seed: seed)
    }

    /// Feeds an event; remembers the scheduled timers; returns the actions other than `schedule`.
    @discardableResult
    func send(_ event: BotStateMachine.Event) -> [BotStateMachine.Action] {
        let actions = machine.handle(event, now: now)
        log += actions
        var visible: [BotStateMachine.Action] = []
        for action in actions {
            if case .schedule(let id, let delay) = action {
                timers.append((id, now.addingTimeInterval(delay.seconds)))
            } else {
                visible.append(action)
            }
        }
        return visible
    }

    /// Moves to the earliest timer and fires it; returns the delay and the actions.
    func fireNext() -> (delay: Double, actions: [BotStateMachine.Action])? {
        guard let index = timers.indices.min(by: { timers[$0].at < timers[$1].at }) else { return nil }
        let timer = timers.remove(at: index)
        let delay = timer.at.timeIntervalSince(now)
        now = timer.at
        return (delay, send(.timer(timer.id)))
    }
}

@Suite struct BotStateMachineTests {
    @Test func startsIdleThenBecomesAvailableAfterAShortPause() throws {
        let bot = BotDriver()
        #expect(bot.send(.started).isEmpty)
        #expect(bot.machine.phase == .idle)
        let (delay, actions) = try #require(bot.fireNext())
        #expect((1...3).contains(delay))
        #expect(actions == [.becomeAvailable(after: nil)])
        #expect(bot.machine.phase == .waiting)
    }

    @Test func aMatchJoinsTheRoomAndGreets() throws {
        let bot = BotDriver()
        bot.send(.started)
        _ = bot.fireNext()
        #expect(bot.send(.matched(roomID: "r1")) == [.joinRoom("r1")])
        #expect(bot.send(.roomJoined(roomID: "r1")).isEmpty)
        let (delay, actions) = try #require(bot.fireNext())
        #expect((1...3).contains(delay))
        guard case .send(let greeting)? = actions.first else { Issue.record("no greeting"); return }
        #expect(BotProfile.greetings.contains(greeting.content))
        #expect(greeting.payload["sender"]?["name"] == "Alex")
        #expect(greeting.payload["roomId"] == "r1")
        #expect(RoomIDGenerator.isValid(greeting.id))
    }

    @Test func aMatchIsIgnoredUnlessWaiting() {
        let bot = BotDriver()
        bot.send(.started)
        #expect(bot.send(.matched(roomID: "r1")).isEmpty)
    }

    @Test func eachPartnerMessageGetsTypingThenAReplyAfterTheTypingDelay() throws {
        let bot = inRoom()
        #expect(bot.send(.message(roomID: "r1", senderID: "bot-1", content: "echo of my own")).isEmpty)
        #expect(bot.send(.message(roomID: "r1", senderID: "human", content: "what's your name?")).isEmpty)
        let (thinking, typing) = try #require(bot.fireNext())
        #expect((0.8...1.5).contains(thinking))
        #expect(typing == [.typing(roomID: "r1")])
        let (typingDelay, reply) = try #require(bot.fireNext())
        guard case .send(let message)? = reply.first else { Issue.record("no reply"); return }
        #expect(message.content == "I'm Alex! What's your name?")
        #expect(abs(typingDelay - Double(message.content.count) / 45) < 1e-6)
        #expect(message.row["sender_id"] == "bot-1")
    }

    @Test func typingPauseIsCappedAtThreeSeconds() throws {
        var profile = BotProfile.all[3]
        profile.typingSpeed = 1
        let bot = inRoom(profile: profile)
        bot.send(.message(roomID: "r1", senderID: "human", content: "nice weather"))
        _ = bot.fireNext()
        let (typingDelay, _) = try #require(bot.fireNext())
        #expect(typingDelay == 3)
    }

    @Test func theBotLeavesOnItsBudgetAndSkipChanceRecordsAnalyticsAndRequeues() throws {
        var profile = BotProfile.all[2]
        profile.maxMessages = 2
        profile.skipProbability = 1
        let bot = inRoom(profile: profile)
        bot.send(.message(roomID: "r1", senderID: "human", content: "one"))
        _ = bot.fireNext()
        let first = try #require(bot.fireNext()).actions
        #expect(first.count == 1, "below budget: reply only")
        bot.now = bot.now.addingTimeInterval(30)
        bot.send(.message(roomID: "r1", senderID: "human", content: "two"))
        _ = bot.fireNext()
        let actions = try #require(bot.fireNext()).actions
        #expect(actions.count == 4)
        #expect(actions[1] == .close(roomID: "r1"))
        guard case .record(let row) = actions[2] else { Issue.record("no analytics"); return }
        #expect(row.botSkipped && !row.humanSkipped && row.messagesExchanged == 2 && row.conversationID == "r1")
        #expect(row.conversationDuration >= 30)
        #expect(Array(actions[3...]) == [.leaveRoom("r1")])
        let (delay, requeue) = try #require(bot.fireNext())
        #expect((1...2).contains(delay))
        #expect(requeue == [.becomeAvailable(after: "r1")])
    }

    @Test func partnerRoomClosedRecordsAHumanSkipAndRequeues() throws {
        let bot = inRoom()
        bot.send(.message(roomID: "r1", senderID: "human", content: "hi"))
        #expect(bot.send(.roomClosed(roomID: "r1", leaverID: "bot-1")).isEmpty)
        let actions = bot.send(.roomClosed(roomID: "r1", leaverID: "human"))
        guard case .record(let row)? = actions.first else { Issue.record("no analytics"); return }
        #expect(row.humanSkipped && !row.botSkipped && row.messagesExchanged == 1)
        #expect(Array(actions.dropFirst()) == [.leaveRoom("r1")])
        #expect(bot.fireNext()?.actions == [], "the pending reply is dropped")
        #expect(bot.fireNext()?.actions == [.becomeAvailable(after: "r1")])
    }

    @Test func partnerPresenceLeaveCountsOnlyAfterThePartnerWasSeen() {
        let bot = inRoom()
        #expect(bot.send(.roomPresence(roomID: "r1", keys: ["bot-1"])).isEmpty)
        #expect(bot.send(.roomPresence(roomID: "r1", keys: ["bot-1", "human"])).isEmpty)
        let actions = bot.send(.roomPresence(roomID: "r1", keys: ["bot-1"]))
        #expect(actions.contains(.leaveRoom("r1")))
        #expect(bot.machine.phase == .idle)
    }

    @Test func strangerSkippedLeavesTheRoomAndBecomesAvailableAtOnce() {
        let bot = inRoom()
        #expect(bot.send(.skipped) == [.leaveRoom("r1"), .becomeAvailable(after: "r1")])
        #expect(bot.machine.phase == .waiting)
    }

    @Test func stopClosesTheConversationPolitelyFirst() {
        let bot = inRoom()
        let actions = bot.send(.stop)
        #expect(actions.first == .close(roomID: "r1"))
        #expect(actions.suffix(2) == [.leaveRoom("r1"), .finish])
        #expect(bot.send(.message(roomID: "r1", senderID: "human", content: "hello?")).isEmpty)
        #expect(bot.machine.phase == .stopped)
    }

    /// SIGTERM while the bot is still joining the room its partner was told about: it waits for the join,
    /// then closes the room politely, instead of vanishing with the partner left waiting in it.
    @Test func stopDuringTheRoomJoinClosesTheRoomOnceJoined() {
        let bot = joining()
        #expect(bot.send(.stop).isEmpty, "waits for the join to settle")
        let actions = bot.send(.roomJoined(roomID: "r1"))
        #expect(actions.first == .close(roomID: "r1"))
        #expect(actions.suffix(2) == [.leaveRoom("r1"), .finish])
        #expect(bot.machine.phase == .stopped)
    }

    @Test func stopDuringARoomJoinThatFailsJustFinishes() {
        let bot = joining()
        #expect(bot.send(.stop).isEmpty)
        #expect(bot.send(.roomJoinFailed(roomID: "r1")) == [.finish])
        #expect(bot.machine.phase == .stopped)
    }

    /// Stopped mid-join, then skipped before the join settles (the pair was undone): the bot still finishes.
    @Test func stopDuringARoomJoinThenASkipFinishes() {
        let bot = joining()
        #expect(bot.send(.stop).isEmpty)
        #expect(bot.send(.skipped) == [.leaveRoom("r1"), .finish])
        #expect(bot.machine.phase == .stopped)
    }

    @Test func stopWhileIdleJustFinishes() {
        let bot = BotDriver()
        bot.send(.started)
        #expect(bot.send(.stop) == [.finish])
    }

    @Test func theSameSeedReplaysTheSameConversation() {
        func transcript(seed: UInt64) -> [BotStateMachine.Action] {
            let bot = inRoom(seed: seed)
            for text in ["hey", "cool", "bye"] {
                bot.send(.message(roomID: "r1", senderID: "human", content: text))
                _ = bot.fireNext()
                _ = bot.fireNext()
            }
            return bot.log
        }
        #expect(transcript(seed: 3) == transcript(seed: 3))
    }

    /// A bot matched with room r1, its join still in flight.
    private func joining(profile: BotProfile = BotProfile.all[0], seed: UInt64 = 7) -> BotDriver {
        let bot = BotDriver(profile: profile, seed: seed)
        bot.send(.started)
        _ = bot.fireNext()
        bot.send(.matched(roomID: "r1"))
        return bot
    }

    private func inRoom(profile: BotProfile = BotProfile.all[0], seed: UInt64 = 7) -> BotDriver {
        let bot = joining(profile: profile, seed: seed)
        bot.send(.roomJoined(roomID: "r1"))
        _ = bot.fireNext()
        return bot
    }
}
