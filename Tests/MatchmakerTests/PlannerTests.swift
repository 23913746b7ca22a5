import Foundation
import MatchmakerCore
import Shared
import Testing

/// A tiny language for queues: `("u1", "Asia", age)` rows in msg_id order.
struct QueueBuilder {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    var rows: [QueueRow] = []

    mutating func add(_ user: String, _ continent: String? = nil, age: Double = 1) {
        var body: [String: JSONValue] = ["userId": .string(user)]
        if let continent { body["continent"] = .string(continent) }
        add(raw: .object(body), age: age)
    }

    mutating func add(raw: JSONValue, age: Double = 1) {
        let enqueued = now.addingTimeInterval(-age)
        rows.append(
            QueueRow(msgID: Int64(rows.count + 1), readCount: 1, enqueuedAt: enqueued, visibleAt: now.addingTimeInterval(30), message: raw))
    }
}

func waiting(_ users: String...) -> PresenceSnapshot {
    .available(Dictionary(uniqueKeysWithValues: users.map { ($0, [["status": "waiting"] as JSONValue]) }))
}

extension Plan {
    var pairNames: [String] { pairs.map { "\($0.first.userID)-\($0.second.userID)" } }
}

@Suite struct PlannerTests {
    let planner = Planner(policy: MatchPolicy())
    let degraded = PresenceSnapshot.unavailable(reason: "test")

    func plan(_ queue: QueueBuilder, presence: PresenceSnapshot? = nil, skips: [Skip] = [], bots: Set<String> = []) -> Plan {
        planner.plan(LeasedUsers(rows: queue.rows), presence: presence ?? degraded, skips: skips, bots: bots, now: queue.now)
    }

    @Test func leasedMessagesAreParsedOnceIntoOneCandidatePerUser() {
        var queue = QueueBuilder()
        queue.add("bob")
        queue.add("alice")
        queue.add(raw: "junk")
        queue.add("bob")
        let leased = LeasedUsers(rows: queue.rows.reversed())
        #expect(leased.userIDs == ["alice", "bob"])
        #expect(leased.candidates.map(\.userID) == ["bob", "alice"], "FIFO by the earliest message")
        #expect(leased.candidates.first?.duplicateMsgIDs == [4])
        #expect(leased.malformed.map(\.msgIDs) == [[3]])
        #expect(leased.messageCount == 4)
    }

    /// The moment the next bot fill is due: the earliest kept, waiting human short of `BOT_FILL_AFTER` (5 s).
    @Test func theEarliestBotFillMomentIsThatOfTheOldestKeptWaitingHumanNotYetEligible() {
        var queue = QueueBuilder()
        queue.add("idle", age: 4.5)
        queue.add("older", age: 3)
        let presence = PresenceSnapshot.available(["older": [["status": "waiting"]], "idle": [["status": "idle"]]])
        let planned = plan(queue, presence: presence)
        #expect(planned.pairs.isEmpty && planned.kept.count == 2)
        #expect(planned.botFillDueAt == queue.now.addingTimeInterval(2), "older is eligible in 2 s; idle is not waiting")
        var eligible = QueueBuilder()
        eligible.add("eligible", age: 7)
        #expect(plan(eligible).botFillDueAt == nil, "already eligible: a bot's enqueue starts the pass that fills them")
        var paired = QueueBuilder()
        paired.add("a")
        paired.add("b")
        #expect(plan(paired).botFillDueAt == nil, "nobody kept")
    }

    @Test func pairsFIFOWithinAContinent() {
        var queue = QueueBuilder()
        for user in ["a", "b", "c", "d"] { queue.add(user, "Asia") }
        #expect(plan(queue).pairNames == ["a-b", "c-d"])
    }

    @Test func continentPoolsComeFirstThenWorldUsersThenLeftovers() {
        var queue = QueueBuilder()
        queue.add("asia1", "Asia")
        queue.add("world1")
        queue.add("eu1", "Europe")
        queue.add("asia2", "Asia")
        queue.add("world2", "World")
        queue.add("africa1", "Africa")
        // Asia pairs within itself; Europe and Africa are leftovers that join the World pool after World users.
        #expect(plan(queue).pairNames == ["asia1-asia2", "world1-world2", "eu1-africa1"])
    }

    @Test func leftoverContinentUserPairsWithAWorldUser() {
        var queue = QueueBuilder()
        queue.add("eu1", "Europe")
        queue.add("world1")
        let result = plan(queue)
        #expect(result.pairNames == ["eu1-world1"])
        #expect(result.pairs[0].first.userID == "eu1", "user1 owns the room: the earlier message")
    }

    @Test func roomOwnerIsTheEarlierMessageEvenWhenTheWorldPoolOrderDiffers() {
        var queue = QueueBuilder()
        queue.add("eu1", "Europe")
        queue.add("w1")
        queue.add("w2")
        queue.add("w3")
        // World pool: w1, w2, w3, eu1 → w1-w2, w3-eu1; the owner of the second room is eu1 (msg 1).
        #expect(plan(queue).pairNames == ["w1-w2", "eu1-w3"])
    }

    @Test(arguments: [
        (JSONValue.object(["userId": "u", "continent": "Mars"]), Continent.world),
        (JSONValue.object(["userId": "u", "continent": ""]), Continent.world),
        (JSONValue.object(["userId": "u", "continent": .null]), Continent.world),
        (JSONValue.object(["userId": "u"]), Continent.world),
        (JSONValue.object(["userId": "u", "continent": "Oceania"]), Continent.oceania),
    ])
    func missingEmptyOrUnknownContinentMeansWorld(body: JSONValue, continent: Continent) throws {
        #expect(try QueuedUser.parse(body).get().continent == continent)
    }

    @Test(arguments: [
        (JSONValue.string("u1"), "message is a JSON string, not an object"),
        (JSONValue.array([1, 2]), "message is a JSON array, not an object"),
        (JSONValue.object(["continent": "Asia"]), "userId is missing"),
        (JSONValue.object(["userId": 42]), "userId is a JSON number, not a string"),
        (JSONValue.object(["userId": ""]), "userId is empty"),
        (JSONValue.object(["userId": "u", "continent": 3]), "continent is a JSON number, not a string"),
        (JSONValue.null, "message is a JSON null, not an object"),
    ])
    func malformedMessagesAreSetAsideWithAReason(body: JSONValue, reason: String) {
        var queue = QueueBuilder()
        queue.add(raw: body)
        queue.add("a")
        queue.add("b")
        let result = plan(queue)
        #expect(result.drops == [Drop(userID: nil, msgIDs: [1], reason: .malformed(reason))])
        #expect(result.pairNames == ["a-b"])
    }

    /// Original bug 2: a user with two messages could land in two rooms in one run.
    @Test func aUserWithTwoMessagesIsMatchedOnceAndBothMessagesGoWithTheMatch() {
        var queue = QueueBuilder()
        queue.add("a", age: 9)
        queue.add("a", age: 2)
        queue.add("b")
        queue.add("c")
        let result = plan(queue)
        #expect(result.pairNames == ["a-b"])
        #expect(result.pairs[0].first.allMsgIDs == [1, 2])
        #expect(result.kept.map(\.userID) == ["c"])
    }

    @Test func aUserIsNeverPairedWithThemself() {
        var queue = QueueBuilder()
        queue.add("a")
        queue.add("a")
        let result = plan(queue)
        #expect(result.pairs.isEmpty)
        #expect(result.kept.map(\.userID) == ["a"])
    }

    @Test func aRecentSkipBlocksThePairInBothDirections() {
        var queue = QueueBuilder()
        queue.add("a")
        queue.add("b")
        queue.add("c")
        let skip = Skip(userA: "b", userB: "a", createdAt: queue.now.addingTimeInterval(-3))
        #expect(plan(queue, skips: [skip]).pairNames == ["a-c"])
    }

    /// Original bug 12: rows older than 5 s were deleted before a 10 s check, so a skip blocked only ~5 s.
    @Test func aSkipBlocksForTheWholeWindowNotHalfOfIt() {
        var queue = QueueBuilder()
        queue.add("a")
        queue.add("b")
        let sevenSecondsAgo = Skip(userA: "a", userB: "b", createdAt: queue.now.addingTimeInterval(-7))
        #expect(plan(queue, skips: [sevenSecondsAgo]).pairs.isEmpty)
        let elevenSecondsAgo = Skip(userA: "a", userB: "b", createdAt: queue.now.addingTimeInterval(-11))
        #expect(plan(queue, skips: [elevenSecondsAgo]).pairNames == ["a-b"])
    }

    @Test func withPresenceBothUsersMustBeWaiting() {
        var queue = QueueBuilder()
        queue.add("a")
        queue.add("idle")
        queue.add("b")
        let presence = PresenceSnapshot.available([
            "a": [["status": "waiting"]], "b": [["status": "idle"], ["status": "waiting"]], "idle": [["status": "idle"]],
        ])
        let result = plan(queue, presence: presence)
        #expect(result.pairNames == ["a-b"])
        #expect(result.kept.map(\.userID) == ["idle"])
        #expect(!result.degraded)
    }

    @Test func aQueuedUserWhoLeftTheLobbyIsDroppedOnceStale() {
        var queue = QueueBuilder()
        queue.add("gone", age: 31)
        queue.add("recent", age: 10)
        let result = plan(queue, presence: .available([:]))
        #expect(result.drops == [Drop(userID: "gone", msgIDs: [1], reason: .stale)])
        #expect(result.kept.map(\.userID) == ["recent"])
    }

    /// Original bug 3 and §2.9: with presence down, every unmatched user was deleted as stale.
    @Test func withoutPresenceNobodyIsDroppedForMissingPresence() {
        var queue = QueueBuilder()
        queue.add("a", age: 45)
        queue.add("b", age: 40)
        queue.add("c", age: 35)
        let result = plan(queue)
        #expect(result.degraded)
        #expect(result.pairNames == ["a-b"])
        #expect(result.drops.isEmpty)
        #expect(result.kept.map(\.userID) == ["c"])
    }

    @Test func humansArePairedWithHumansBeforeBots() {
        var queue = QueueBuilder()
        queue.add("bot1", age: 20)
        queue.add("h1", age: 10)
        queue.add("h2", age: 9)
        let result = plan(queue, bots: ["bot1"])
        #expect(result.pairNames == ["h1-h2"])
        #expect(result.pairs[0].kind == .humans)
        #expect(result.kept.map(\.userID) == ["bot1"])
    }

    @Test func aHumanWhoWaitedLongEnoughGetsABot() {
        var queue = QueueBuilder()
        queue.add("bot1", age: 30)
        queue.add("h1", age: 6)
        let result = plan(queue, bots: ["bot1"])
        #expect(result.pairNames == ["bot1-h1"])
        #expect(result.pairs[0].kind == .botFill)
    }

    @Test func aHumanWhoJustArrivedWaitsForAHuman() {
        var queue = QueueBuilder()
        queue.add("bot1", age: 30)
        queue.add("h1", age: 4)
        #expect(plan(queue, bots: ["bot1"]).pairs.isEmpty)
    }

    /// Original bug 10: bots were matched with bots and chatted forever.
    @Test func botsAreNeverPairedWithBots() {
        var queue = QueueBuilder()
        queue.add("bot1", age: 50)
        queue.add("bot2", age: 50)
        let presenceBot = PresenceSnapshot.available([
            "bot1": [["user_id": "bot1", "status": "waiting"]], "bot2": [["user_id": "bot2", "status": "waiting"]],
        ])
        #expect(plan(queue, bots: ["bot1", "bot2"]).pairs.isEmpty)
        #expect(plan(queue, presence: presenceBot).pairs.isEmpty, "bots recognised by their presence meta")
    }

    @Test func aSkippedBotIsNotTheFill() {
        var queue = QueueBuilder()
        queue.add("bot1", age: 30)
        queue.add("bot2", age: 30)
        queue.add("h1", age: 8)
        let skip = Skip(userA: "h1", userB: "bot1", createdAt: queue.now.addingTimeInterval(-2))
        #expect(plan(queue, skips: [skip], bots: ["bot1", "bot2"]).pairNames == ["bot2-h1"])
    }

    @Test func anUnmatchedUserPastTheTTLExpires() {
        var queue = QueueBuilder()
        queue.add("old", age: 61)
        queue.add("young", age: 59)
        let result = plan(queue, presence: waiting("old", "young"), skips: [Skip(userA: "old", userB: "young", createdAt: queue.now)])
        #expect(result.expired.map(\.userID) == ["old"])
        #expect(result.kept.map(\.userID) == ["young"])
    }

    @Test func anOldUserWhoCanBeMatchedIsMatchedNotExpired() {
        var queue = QueueBuilder()
        queue.add("old", age: 90)
        queue.add("young", age: 1)
        let result = plan(queue, presence: waiting("old", "young"))
        #expect(result.pairNames == ["old-young"])
        #expect(result.expired.isEmpty)
    }

    @Test func expiryLooksAtTheNewestMessageOfAUser() {
        var queue = QueueBuilder()
        queue.add("a", age: 120)
        queue.add("a", age: 5)
        let result = plan(queue)
        #expect(result.expired.isEmpty)
        #expect(result.kept.first?.allMsgIDs == [1, 2])
    }

    @Test func unprocessedCountsEveryUnpairedUser() {
        var queue = QueueBuilder()
        queue.add("a")
        queue.add("b")
        queue.add("kept")
        queue.add("gone", age: 40)
        queue.add("old", age: 70)
        let presence = PresenceSnapshot.available([
            "a": [["status": "waiting"]], "b": [["status": "waiting"]], "kept": [["status": "idle"]], "old": [["status": "waiting"]],
        ])
        let result = plan(queue, presence: presence, skips: [])
        #expect(result.pairNames == ["a-b"])
        #expect(result.unpairedUserCount == 3)
        #expect(result.messageCount == 5)
    }
}
