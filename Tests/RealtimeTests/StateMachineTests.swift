import Foundation
import Shared
import Testing

private let t0 = Date(timeIntervalSince1970: 1_800_000_000)

@Suite struct HeartbeatMachineTests {
    @Test func sendsEveryIntervalAndTimesOutWhenUnanswered() {
        var machine = HeartbeatMachine(now: t0)
        var refs = 0
        let makeRef = { () -> String in
            refs += 1
            return String(refs)
        }
        #expect(machine.tick(now: t0.addingTimeInterval(24.9), makeRef: makeRef) == .wait)
        #expect(machine.tick(now: t0.addingTimeInterval(25), makeRef: makeRef) == .send(ref: "1"))
        machine.replied(ref: "1")
        #expect(machine.tick(now: t0.addingTimeInterval(50), makeRef: makeRef) == .send(ref: "2"))
        machine.replied(ref: "1")
        #expect(machine.tick(now: t0.addingTimeInterval(74), makeRef: makeRef) == .wait)
        #expect(machine.tick(now: t0.addingTimeInterval(75), makeRef: makeRef) == .timedOut(ref: "2"))
    }
}

@Suite struct ChannelStateMachineTests {
    @Test func joinsOnTheMatchingReplyAndIgnoresStaleOnes() {
        var machine = ChannelStateMachine()
        let deadline = machine.startJoin(ref: "4", now: t0)
        #expect(deadline == t0.addingTimeInterval(8))
        #expect(!machine.joined(ref: "3"))
        #expect(machine.accepts(joinRef: "4"))
        #expect(!machine.accepts(joinRef: "3"))
        #expect(machine.accepts(joinRef: nil))
        #expect(machine.joined(ref: "4"))
        #expect(machine.state == .joined(joinRef: "4"))
    }

    @Test func joinExpiresAtTheConnectTimeout() {
        var machine = ChannelStateMachine(joinTimeout: .seconds(8))
        _ = machine.startJoin(ref: "1", now: t0)
        #expect(!machine.joinExpired(now: t0.addingTimeInterval(7.999)))
        #expect(machine.joinExpired(now: t0.addingTimeInterval(8)))
    }

    @Test func unauthorizedGivesUpAtOnce() {
        var machine = ChannelStateMachine()
        _ = machine.startJoin(ref: "1", now: t0)
        let failure = ErrorClassifier.classify(text: "Unauthorized: You do not have permissions to read from this Channel topic: x")
        #expect(machine.failed(failure, now: t0, unit: 0.5) == .giveUp(reason: .nonRetryable))
        #expect(machine.state == .failed)
    }

    @Test func rateLimitsBackOffWithTheSeedValuesAndJitter() {
        var machine = ChannelStateMachine()
        let limited = ErrorClassifier.classify(text: "ChannelRateLimitReached: Too many channels")
        let expected: [(unit: Double, seconds: Double)] = [(0, 2), (1, 5.2), (0.5, 9.2), (0, 16), (0, 30), (1, 39)]
        for (unit, seconds) in expected {
            _ = machine.startJoin(ref: "r", now: t0)
            guard case .retry(let at, let delay) = machine.failed(limited, now: t0, unit: unit) else {
                Issue.record("expected a retry")
                return
            }
            #expect(abs(delay.seconds - seconds) < 0.000_001)
            #expect(at == t0.addingTimeInterval(delay.seconds))
        }
    }

    @Test func retriesEndAfterMaxRetries() {
        var machine = ChannelStateMachine(backoff: Backoff(maxRetries: 2, baseDelay: .seconds(1), maxDelay: .seconds(2)))
        #expect(machine.failed(.retryable, now: t0, unit: 0) != .giveUp(reason: .exhausted))
        #expect(machine.failed(.retryable, now: t0, unit: 0) != .giveUp(reason: .exhausted))
        #expect(machine.failed(.retryable, now: t0, unit: 0) == .giveUp(reason: .exhausted))
    }

    @Test func aSocketDropMarksAJoinedChannelForRejoinAndASuccessResetsFailures() {
        var machine = ChannelStateMachine()
        _ = machine.failed(.retryable, now: t0, unit: 0)
        _ = machine.startJoin(ref: "2", now: t0)
        _ = machine.joined(ref: "2")
        #expect(machine.failures == 0)
        machine.socketClosed()
        #expect(machine.state == .errored(retryAt: nil))
        #expect(machine.joinRef == nil)
    }
}

@Suite struct PresenceStateTests {
    @Test func diffsJoinAndLeaveByPhxRef() {
        var state = PresenceState()
        state.sync(["u1": ["metas": [["phx_ref": "a", "status": "waiting"]]]])
        state.apply(diff: ["joins": ["u2": ["metas": [["phx_ref": "b", "status": "idle"]]]], "leaves": [:]])
        #expect(state.keys == ["u1", "u2"])
        state.apply(diff: [
            "joins": ["u1": ["metas": [["phx_ref": "c", "status": "matched", "phx_ref_prev": "a"]]]],
            "leaves": ["u1": ["metas": [["phx_ref": "a", "status": "waiting"]]]],
        ])
        #expect(state.entries["u1"] == [["phx_ref": "c", "status": "matched", "phx_ref_prev": "a"]])
        state.apply(diff: ["joins": [:], "leaves": ["u2": ["metas": [["phx_ref": "b"]]]]])
        #expect(state.keys == ["u1"])
    }
}

@Suite struct BudgetAndRateTests {
    @Test func presenceBudgetAllowsFiveCallsPerThirtySeconds() {
        var budget = PresenceBudget()
        for second in 0..<5 { #expect(budget.spend(now: t0.addingTimeInterval(Double(second)))) }
        #expect(!budget.spend(now: t0.addingTimeInterval(10)))
        #expect(budget.nextAllowed(now: t0.addingTimeInterval(10)) == t0.addingTimeInterval(30))
        #expect(budget.spend(now: t0.addingTimeInterval(30)))
    }

    @Test func aBurstOfAThousandJoinsNeverExceedsTheRate() {
        var limiter = JoinRateLimiter(perSecond: 100)
        let slots = (0..<1000).map { _ in limiter.reserve(now: t0) }
        for (index, slot) in slots.enumerated() where index >= 100 {
            // Any 101 consecutive joins span at least one second.
            #expect(slot.timeIntervalSince(slots[index - 100]) >= 0.999_999)
        }
        #expect(abs(slots.last!.timeIntervalSince(t0) - 9.99) < 0.001)
    }
}
