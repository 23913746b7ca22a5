import Foundation
import MatchmakerCore
import Shared
import Testing

/// Bots from the registry (`idleBots`): no message of theirs in the queue, claimed by the commit.
@Suite struct RegistryPlannerTests {
    let planner = Planner(policy: MatchPolicy())

    func plan(_ queue: QueueBuilder, skips: [Skip] = [], bots: Set<String> = [], idle: [String]) -> Plan {
        planner.plan(
            LeasedUsers(rows: queue.rows), presence: .unavailable(reason: "test"), skips: skips, bots: bots, idleBots: idle, now: queue.now)
    }

    @Test func anEligibleHumanTakesAnIdleRegisteredBotAndOwnsTheRoom() throws {
        var queue = QueueBuilder()
        queue.add("h1", age: 6)
        let result = plan(queue, idle: ["bot-a", "bot-b"])
        #expect(result.pairNames == ["h1-bot-a"])
        let pair = try #require(result.pairs.first)
        #expect(pair.kind == .botFill)
        #expect(pair.second.isRegistered && pair.second.allMsgIDs.isEmpty, "the bot has no message to consume")
        #expect(pair.first.allMsgIDs == [1])
        #expect(result.kept.isEmpty && result.botFillWanted == 0)
    }

    @Test func aHumanShortOfBotFillAfterWaitsAndAsksForNoBot() {
        var queue = QueueBuilder()
        queue.add("h1", age: 4)
        let result = plan(queue, idle: ["bot-a"])
        #expect(result.pairs.isEmpty)
        #expect(result.botFillWanted == 0)
        #expect(result.botFillDueAt == queue.now.addingTimeInterval(1))
    }

    @Test func humansPairWithHumansFirstAndEachEligibleLeftoverIsCountedWhenNoBotIsGiven() {
        var queue = QueueBuilder()
        queue.add("h1", age: 9)
        queue.add("h2", age: 8)
        queue.add("h3", age: 7)
        queue.add("h4", age: 6)
        queue.add("h5", age: 6)
        let without = plan(queue, skips: [Skip(userA: "h4", userB: "h5", createdAt: queue.now)], idle: [])
        #expect(without.pairNames == ["h1-h2", "h3-h4"])
        #expect(without.botFillWanted == 1, "h5 is eligible and found no bot")
        let with = plan(queue, skips: [Skip(userA: "h4", userB: "h5", createdAt: queue.now)], idle: ["bot-a"])
        #expect(with.pairNames == ["h1-h2", "h3-h4", "h5-bot-a"])
    }

    @Test func aQueuedBotIsTakenBeforeARegisteredOne() {
        var queue = QueueBuilder()
        queue.add("bot-q", age: 30)
        queue.add("h1", age: 6)
        #expect(plan(queue, bots: ["bot-q"], idle: ["bot-r"]).pairNames == ["bot-q-h1"])
    }

    @Test func aRegisteredBotTheHumanSkippedIsPassedOver() {
        var queue = QueueBuilder()
        queue.add("h1", age: 6)
        let skip = Skip(userA: "bot-a", userB: "h1", createdAt: queue.now.addingTimeInterval(-2))
        #expect(plan(queue, skips: [skip], idle: ["bot-a", "bot-b"]).pairNames == ["h1-bot-b"])
        #expect(plan(queue, skips: [skip], idle: ["bot-a"]).botFillWanted == 1)
        let old = Skip(userA: "h1", userB: "bot-a", createdAt: queue.now.addingTimeInterval(-60))
        #expect(plan(queue, skips: [old], idle: ["bot-a"]).pairNames == ["h1-bot-a"], "an old skip blocks nothing")
    }

    @Test func eachRegisteredBotFillsOneHumanAndNeverAnotherBot() {
        var queue = QueueBuilder()
        queue.add("h1", age: 9)
        queue.add("h2", age: 8)
        queue.add("bot-q", age: 30)
        // Two humans who skipped each other, one queued bot that is not waiting's equal: bots never pair with bots.
        let skip = Skip(userA: "h1", userB: "h2", createdAt: queue.now)
        let result = plan(queue, skips: [skip], bots: ["bot-q"], idle: ["bot-a"])
        #expect(result.pairNames == ["h1-bot-q", "h2-bot-a"])
        #expect(Set(result.pairs.map(\.second.userID)).count == 2)
    }

    @Test func aRegisteredBotThatIsAlsoQueuedIsTakenFromTheQueueOnly() {
        var queue = QueueBuilder()
        queue.add("bot-a", age: 30)
        queue.add("h1", age: 7)
        queue.add("h2", age: 6)
        let skip = Skip(userA: "h1", userB: "h2", createdAt: queue.now)
        let result = plan(queue, skips: [skip], bots: ["bot-a"], idle: ["bot-a"])
        #expect(result.pairNames == ["bot-a-h1"])
        #expect(result.botFillWanted == 1, "bot-a is not offered twice")
    }
}
