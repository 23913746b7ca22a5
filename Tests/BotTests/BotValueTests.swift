import Foundation
import MatchmakerCore
import Shared
import Testing

@Suite struct BotTargetTests {
    @Test(arguments: [
        (0, 3), (1, 3), (10, 3), (11, 4), (20, 6), (34, 11), (50, 15), (1000, 15),
    ])
    func targetIsClampedCeilingOfThirtyPercentOfOnlineHumans(humans: Int, expected: Int) {
        #expect(BotTarget(min: 3, max: 15, percentage: 30).count(onlineHumans: humans) == expected)
    }

    @Test func humansAreLobbyKeysThatAreNotBots() {
        let lobby: PresenceSnapshot = .available([
            "h1": [["status": "waiting"]], "h2": [["status": "idle"]], "h3": [["status": "matched"]], "h4": [["status": "idle"]],
            "bot-a": [["user_id": "bot-a", "status": "waiting"]], "bot-known": [["status": "idle"]],
        ])
        let decision = BotTarget(min: 1, max: 15, percentage: 50).decide(presence: lobby, botIDs: ["bot-known"], current: 7)
        #expect(decision == .count(2, humans: 4))
    }

    @Test func noHumanMeansTheMinimum() {
        let decision = BotTarget().decide(presence: .available(["bot": [["user_id": "bot", "status": "idle"]]]), botIDs: [], current: 9)
        #expect(decision == .count(3, humans: 0))
    }

    @Test func unavailablePresenceKeepsTheCurrentCountAndSaysWhy() {
        let decision = BotTarget().decide(presence: .unavailable(reason: "lobby timed out"), botIDs: [], current: 7)
        #expect(decision == .keep(7, reason: "lobby timed out"))
        #expect(decision.count == 7)
        #expect(BotTarget().decide(presence: .unavailable(reason: "down"), botIDs: [], current: 0) == .keep(3, reason: "down"))
    }
}

@Suite struct MaintenanceScheduleTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    private func begin(_ schedule: inout MaintenanceSchedule, at now: Date) -> Bool {
        schedule.begin(now: now)
    }

    @Test func ticksEveryIntervalAndNeverTwoAtOnce() {
        var schedule = MaintenanceSchedule(interval: .seconds(60), start: start)
        #expect(begin(&schedule, at: start))
        #expect(!begin(&schedule, at: start.addingTimeInterval(1)))
        #expect(!begin(&schedule, at: start.addingTimeInterval(61)))
        schedule.end(now: start.addingTimeInterval(10))
        #expect(schedule.nextTick == start.addingTimeInterval(60))
        #expect(!begin(&schedule, at: start.addingTimeInterval(59.9)))
        #expect(begin(&schedule, at: start.addingTimeInterval(60)))
    }

    @Test func aTickThatOverrunsSkipsTheTicksItOverlapped() {
        var schedule = MaintenanceSchedule(interval: .seconds(60), start: start)
        #expect(begin(&schedule, at: start))
        schedule.end(now: start.addingTimeInterval(150))
        #expect(schedule.nextTick == start.addingTimeInterval(180))
        #expect(schedule.skipped == 2)
    }

    @Test(arguments: [(0.0, 5.0), (0.5, 6.5), (0.999, 7.997), (1.0, 8.0)])
    func staggerIsUniformBetweenFiveAndEightSeconds(unit: Double, seconds: Double) {
        #expect(abs(Stagger().delay(unit: unit).seconds - seconds) < 1e-9)
    }

    @Test func staggerIsConfigurable() {
        #expect(Stagger(min: .milliseconds(10), max: .milliseconds(20)).delay(unit: 0.5) == .milliseconds(15))
    }
}

@Suite struct BotIdentityTests {
    @Test func aSlotRoundTripsThroughItsID() {
        for slot in [1, 5, 6, 1000] { #expect(BotIdentity.slot(of: BotIdentity(slot: slot).id) == slot) }
        #expect(BotIdentity.slot(of: "human-3") == nil)
        #expect(BotIdentity.slot(of: "bot-\(BotIdentity(slot: 2).profile.id)-3") == nil, "slot 3 has another profile")
        #expect(BotIdentity.slot(of: "bot-x-0") == nil)
    }
}

@Suite struct BotProfileTests {
    @Test func fiveProfilesAsTheOriginal() {
        #expect(BotProfile.all.map(\.id) == ["friendly-alex", "curious-sam", "humorous-jordan", "intellectual-taylor", "friendly-casey"])
        #expect(BotProfile.all.map(\.maxMessages) == [25, 30, 20, 35, 28])
    }

    @Test func replyRulesFirstMatchWins() {
        let alex = BotProfile.all[0]
        var random = SplitMix64(seed: 1)
        #expect(BotProfile.greetings.contains(alex.reply(to: "Hello there, what's your name?", using: &random)))
        #expect(alex.reply(to: "what is your NAME", using: &random) == "I'm Alex! What's your name?")
        let interest = alex.reply(to: "any hobbies?", using: &random)
        #expect(interest.hasPrefix("I'm really into ") && alex.interests.contains { interest.contains($0) })
        #expect(BotProfile.answers.contains(alex.reply(to: "is it raining?", using: &random)))
        #expect(BotProfile.farewells.contains(alex.reply(to: "ok gotta go", using: &random)))
        #expect(BotProfile.fillers.contains(alex.reply(to: "I like trains", using: &random)))
        #expect(BotProfile.fillers.contains(alex.reply(to: "this is high", using: &random)), "\"hi\" only as a whole word")
    }
}
