import EmbeddedSupabase
import Foundation
import MatchmakerCore
import Metrics
import Shared
import TestSupport
import Testing

/// The embedded bot registry (`lease_bots`, `ready_bots`, `idle_bots`) and the commit's claim, on a test clock.
@Suite struct BotRegistryTests {
    let time = ManualTime()
    let backend: EmbeddedBackend

    init() throws {
        backend = EmbeddedBackend(time: time.timekeeper)
        try backend.store.addUsers(["h1", "h2", "bot-a", "bot-b"])
    }

    var store: EmbeddedStore { backend.store }

    @Test func twoOwnersNeverHoldOneIdentityAndAnEndedLeaseIsTakenOverReset() {
        #expect(store.leaseBots(owner: "p1", botIDs: ["bot-a", "bot-b"], leaseSeconds: 15).map(\.botID) == ["bot-a", "bot-b"])
        #expect(store.readyBots(owner: "p1", botIDs: ["bot-a"]) == 1)
        #expect(store.leaseBots(owner: "p2", botIDs: ["bot-a", "bot-b"], leaseSeconds: 15).isEmpty, "both held by p1")
        time.advance(by: .seconds(10))
        let renewed = store.leaseBots(owner: "p1", botIDs: ["bot-a", "bot-b"], leaseSeconds: 15)
        #expect(renewed.first { $0.botID == "bot-a" }?.idle == true, "a renewal keeps readiness")
        time.advance(by: .seconds(10))
        #expect(store.leaseBots(owner: "p2", botIDs: ["bot-a"], leaseSeconds: 15).isEmpty, "renewed 10 s ago: still p1's")
        time.advance(by: .seconds(6))
        let taken = store.leaseBots(owner: "p2", botIDs: ["bot-a"], leaseSeconds: 15)
        #expect(taken.map(\.botID) == ["bot-a"])
        #expect(taken.first?.idle == false, "a takeover starts not ready")
        #expect(store.registeredBots["bot-a"]?.owner == "p2")
    }

    @Test func anIdentityLeftOutOfTheListIsReleasedAndAnEmptyListReleasesAll() {
        _ = store.leaseBots(owner: "p1", botIDs: ["bot-a", "bot-b"], leaseSeconds: 15)
        #expect(store.leaseBots(owner: "p1", botIDs: ["bot-b"], leaseSeconds: 15).map(\.botID) == ["bot-b"])
        #expect(store.leaseBots(owner: "p2", botIDs: ["bot-a"], leaseSeconds: 15).map(\.botID) == ["bot-a"], "free at once")
        #expect(store.leaseBots(owner: "p1", botIDs: [], leaseSeconds: 0).isEmpty)
        #expect(store.registeredBots.keys.sorted() == ["bot-a"])
    }

    @Test func onlyIdleBotsWithALiveLeaseAreOffered() {
        _ = store.leaseBots(owner: "p1", botIDs: ["bot-a", "bot-b"], leaseSeconds: 15)
        #expect(store.idleBots(limit: 10).isEmpty, "leased, not ready")
        #expect(store.readyBots(owner: "p2", botIDs: ["bot-a"]) == 0, "not p2's")
        _ = store.readyBots(owner: "p1", botIDs: ["bot-a", "bot-b"])
        #expect(Set(store.idleBots(limit: 10)) == ["bot-a", "bot-b"])
        #expect(store.idleBots(limit: 1).count == 1)
        time.advance(by: .seconds(16))
        #expect(store.idleBots(limit: 10).isEmpty, "the owner stopped renewing: a crash")
        #expect(store.readyBots(owner: "p1", botIDs: ["bot-a"]) == 0, "an ended lease cannot be made ready")
    }

    @Test func theCommitClaimsARegisteredBotWithoutAMessageAndRefusesItTwice() throws {
        _ = store.leaseBots(owner: "p1", botIDs: ["bot-a"], leaseSeconds: 15)
        _ = store.readyBots(owner: "p1", botIDs: ["bot-a"])
        let queue = backend.queueName
        let first = try backend.pgmq.send(queue, message: ["userId": "h1"])
        let second = try backend.pgmq.send(queue, message: ["userId": "h2"])
        _ = try store.commitStrangerMatch(queue: queue, roomID: "room1", user1: "h1", user2: "bot-a", msgIDs: [first])
        #expect(store.registeredBots["bot-a"].map { ($0.idle, $0.roomID) } ?? (true, nil) == (false, "room1"))
        #expect(store.idleBots(limit: 10).isEmpty)
        #expect(throws: SQLError.self) {
            try store.commitStrangerMatch(queue: queue, roomID: "room2", user1: "h2", user2: "bot-a", msgIDs: [second])
        }
        let refused = try store.commitStrangerMatches(
            queue: queue, matches: [.init(roomID: "room2", user1: "h2", user2: "bot-a", msgIDs: [second], createdAt: nil)])
        #expect(refused.map(\.status) == ["MM004"])
        #expect(backend.pgmq.rows(queue).map(\.msgID) == [second], "a refused match consumes nothing")
        #expect(store.contents.rooms["room2"] == nil)
    }

    @Test func aRetriedReadinessNeverUndoesAClaimMadeMeanwhile() throws {
        _ = store.leaseBots(owner: "p1", botIDs: ["bot-a"], leaseSeconds: 15)
        #expect(store.readyBots(owner: "p1", botIDs: ["bot-a"]) == 1)
        let message = try backend.pgmq.send(backend.queueName, message: ["userId": "h1"])
        _ = try store.commitStrangerMatch(queue: backend.queueName, roomID: "room1", user1: "h1", user2: "bot-a", msgIDs: [message])
        // The first attempt's answer was lost; its retry comes after the claim.
        #expect(store.readyBots(owner: "p1", botIDs: ["bot-a"]) == 0)
        #expect(store.registeredBots["bot-a"]?.roomID == "room1")
        #expect(store.readyBots(owner: "p1", botIDs: ["bot-a"], finishedRoom: "room2") == 0)
        #expect(store.readyBots(owner: "p1", botIDs: ["bot-a"], finishedRoom: "room1") == 1, "the bot left room1")
        #expect(store.idleBots(limit: 10) == ["bot-a"])
    }

    @Test func aBotWhoseLeaseEndedCannotBeClaimedAndAnUnregisteredUserStillNeedsAMessage() throws {
        _ = store.leaseBots(owner: "p1", botIDs: ["bot-a"], leaseSeconds: 15)
        _ = store.readyBots(owner: "p1", botIDs: ["bot-a"])
        let queue = backend.queueName
        let message = try backend.pgmq.send(queue, message: ["userId": "h1"])
        time.advance(by: .seconds(15))
        let verdicts = try store.commitStrangerMatches(
            queue: queue,
            matches: [
                .init(roomID: "room1", user1: "h1", user2: "bot-a", msgIDs: [message], createdAt: nil)
            ])
        #expect(verdicts.map(\.status) == ["MM004"])
        let unregistered = try store.commitStrangerMatches(
            queue: queue, matches: [.init(roomID: "room1", user1: "h1", user2: "bot-b", msgIDs: [message], createdAt: nil)])
        #expect(unregistered.map(\.status) == ["MM001"], "bot-b has no registry row and no message")
    }

    @Test func aStaleClaimIsRepairedOnlyOnceItIsOld() throws {
        _ = store.leaseBots(owner: "p1", botIDs: ["bot-a"], leaseSeconds: 60)
        _ = store.readyBots(owner: "p1", botIDs: ["bot-a"])
        let message = try backend.pgmq.send(backend.queueName, message: ["userId": "h1"])
        _ = try store.commitStrangerMatch(queue: backend.queueName, roomID: "room1", user1: "h1", user2: "bot-a", msgIDs: [message])
        time.advance(by: .seconds(10))
        #expect(store.readyBots(owner: "p1", botIDs: ["bot-a"], staleClaimSeconds: 30) == 0, "claimed 10 s ago")
        time.advance(by: .seconds(21))
        #expect(store.readyBots(owner: "p1", botIDs: ["bot-a"], staleClaimSeconds: 30) == 1)
        #expect(store.idleBots(limit: 10) == ["bot-a"])
    }
}

/// A store that offers bots the registry no longer has idle, as a matchmaker that lost the race for them sees it.
private struct RacedOfferStore: MatchStore {
    let inner: any MatchStore
    let offered: [String]

    func recentSkips(among users: [String], since: Date) async throws -> [Skip] { try await inner.recentSkips(among: users, since: since) }
    func botIDs(among users: [String]) async throws -> Set<String> { try await inner.botIDs(among: users) }
    func idleBots(limit: Int) async throws -> [String] { offered }
    func commit(_ match: MatchCommit) async throws { try await inner.commit(match) }
    func roomNotified(id: String) async throws { try await inner.roomNotified(id: id) }
    func deleteRoom(id: String) async throws { try await inner.deleteRoom(id: id) }
}

@Suite struct RegistryPassTests {
    /// The human of a bot fill refused with `MM004` (the bot was claimed by another matchmaker) is released at
    /// once, so the next pass offers another bot instead of waiting out the lease.
    @Test func aHumanWhoseBotWasTakenIsReleasedForTheNextPass() async throws {
        let harness = PassHarness()
        let store = harness.backend.store
        try store.addUsers(["bot-taken", "bot-free"])
        _ = store.leaseBots(owner: "p1", botIDs: ["bot-taken", "bot-free"], leaseSeconds: 60)
        _ = store.readyBots(owner: "p1", botIDs: ["bot-free"])
        try harness.enqueue("lone", age: 6)
        var ports = harness.backend.ports
        ports.store = RacedOfferStore(inner: ports.store, offered: ["bot-taken"])
        let raced = MatchPass(
            ports: ports, settings: harness.settings, time: harness.time, roomIDs: RoomIDSource(seed: 1),
            metrics: MatchMetrics(factory: NOOPMetricsHandler.instance), logger: testLogger, unit: { 0.5 })
        let refused = try await raced.run()
        #expect(refused.rooms.isEmpty && refused.undone == 1)
        #expect(harness.backend.pgmq.rows(harness.backend.queueName).allSatisfy { $0.visibleAt <= harness.now }, "released")

        let next = try await harness.pass().run()
        #expect(next.rooms.map(\.name) == ["lone-bot-free"])
    }
}
