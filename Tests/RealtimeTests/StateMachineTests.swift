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
        let r1 = machine.tick(now: t0.addingTimeInterval(24.9), makeRef: makeRef)
        #expect(r1 == .wait)
        let r2 = machine.tick(now: t0.addingTimeInterval(25), makeRef: makeRef) == .send(ref: "1")
        #expect(r2)
        machine.replied(ref: "1")
        let r3 = machine.tick(now: t0.addingTimeInterval(50), makeRef: makeRef) == .send(ref: "2")
        #expect(r3)
        machine.replied(ref: "1")
        let r4 = machine.tick(now: t0.addingTimeInterval(74), makeRef: makeRef)
        #expect(r4 == .wait)
        let r5 = machine.tick(now: t0.addingTimeInterval(75), makeRef: makeRef) == .timedOut(ref: "2")
        #expect(r5)
    }
}

@Suite struct ChannelStateMachineTests {
    @Test func joinsOnTheMatchingReplyAndIgnoresStaleOnes() {
        var machine = ChannelStateMachine()
        let deadline = machine.startJoin(ref: "4", now: t0)
        #expect(deadline == t0.addingTimeInterval(8))
        let r6 = machine.joinAccepted(ref: "3")
        #expect(r6.isEmpty)
        #expect(machine.accepts(joinRef: "4"))
        #expect(!machine.accepts(joinRef: "3"))
        #expect(machine.accepts(joinRef: nil))
        let r7 = machine.joinAccepted(ref: "4")
        #expect(r7 == [.announceJoined])
        #expect(machine.state == .joined(joinRef: "4"))
    }

    @Test func theJoinDeadlineIsTheConnectTimeoutFromTheStartOfTheAttempt() {
        var machine = ChannelStateMachine(joinTimeout: .seconds(5))
        let deadline = machine.startJoin(ref: "1", now: t0)
        #expect(deadline == t0.addingTimeInterval(5))
        #expect(machine.state == .joining(joinRef: "1", deadline: deadline))
    }

    @Test func unauthorizedGivesUpAtOnce() {
        var machine = ChannelStateMachine()
        _ = machine.startJoin(ref: "1", now: t0)
        let failure = ErrorClassifier.classify(text: "Unauthorized: You do not have permissions to read from this Channel topic: x")
        let r8 = machine.failed(failure, now: t0, unit: 0.5) == .giveUp(reason: .nonRetryable, attempts: 1)
        #expect(r8)
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
            #expect(machine.state == .errored(retryAt: at))
        }
    }

    @Test func retriesEndAfterMaxRetries() {
        var machine = ChannelStateMachine(backoff: Backoff(maxRetries: 2, baseDelay: .seconds(1), maxDelay: .seconds(2)))
        // maxRetries 2: failures 1 and 2 are retried after min(1 s × 2^(k-1), 2 s) (no jitter at unit 0); failure 3 ends it.
        let r9 = machine.failed(.retryable, now: t0, unit: 0) == .retry(at: t0.addingTimeInterval(1), delay: .seconds(1))
        #expect(r9)
        #expect(machine.state == .errored(retryAt: t0.addingTimeInterval(1)))
        let r10 = machine.failed(.retryable, now: t0, unit: 0) == .retry(at: t0.addingTimeInterval(2), delay: .seconds(2))
        #expect(r10)
        let r11 = machine.failed(.retryable, now: t0, unit: 0) == .giveUp(reason: .exhausted, attempts: 3)
        #expect(r11)
        #expect(machine.state == .failed)
        #expect(machine.failures == 3)
    }

    @Test func aSocketDropMarksAJoinedChannelForRejoinAndASuccessResetsFailures() {
        var machine = ChannelStateMachine()
        let cause = RealtimeError(.socketClosed, reason: "gone")
        _ = machine.failed(.retryable, now: t0, unit: 0)
        _ = machine.startJoin(ref: "2", now: t0)
        _ = machine.joinAccepted(ref: "2")
        #expect(machine.failures == 0)
        #expect(machine.socketDropped(cause: cause) == [.report(cause)])
        #expect(machine.state == .errored(retryAt: nil))
        #expect(machine.joinRef == nil)
        #expect(machine.socketDropped(cause: cause).isEmpty)
        #expect(machine.socketOpened() == [.rejoin])
    }

    @Test func oneJoinLoopRunsAtATimeAndOthersWaitForIt() {
        var machine = ChannelStateMachine()
        #expect(machine.subscribe() == .join)
        #expect(machine.subscribe() == .wait)
        let rejoins1 = machine.beginRejoin()
        #expect(!rejoins1)
        _ = machine.startJoin(ref: "1", now: t0)
        _ = machine.joinAccepted(ref: "1")
        machine.joinLoopEnded()
        #expect(machine.subscribe() == .ready)
        _ = machine.socketDropped(cause: RealtimeError(.socketClosed, reason: "gone"))
        let rejoins2 = machine.beginRejoin()
        #expect(rejoins2)
        #expect(machine.socketOpened().isEmpty)
        #expect(machine.subscribe() == .wait)
    }

    @Test func withPresenceAJoinIsReadyOnlyWithItsPresenceState() {
        var machine = ChannelStateMachine(awaitsPresence: true)
        _ = machine.subscribe()
        _ = machine.startJoin(ref: "1", now: t0)
        _ = machine.joinAccepted(ref: "1")
        machine.joinLoopEnded()
        #expect(machine.isJoined)
        #expect(!machine.isSynced)
        #expect(machine.subscribe() == .join)
        machine.joinLoopEnded()
        machine.presenceStateReceived()
        #expect(machine.isSynced)
        #expect(machine.subscribe() == .ready)
        _ = machine.startJoin(ref: "2", now: t0)
        #expect(!machine.presenceSynced)
    }

    @Test func aCrashRejoinsUnlessAJoinLoopRuns() {
        var machine = ChannelStateMachine()
        let crash = RealtimeError(.channelError, reason: "phx_error")
        _ = machine.startJoin(ref: "1", now: t0)
        _ = machine.joinAccepted(ref: "1")
        #expect(machine.channelCrashed(crash) == [.report(crash), .rejoin])
        #expect(machine.state == .errored(retryAt: nil))
        let rejoins3 = machine.beginRejoin()
        #expect(rejoins3)
        #expect(machine.channelCrashed(crash) == [.report(crash)])
    }

    @Test func aRetryWaitingWhenTheSocketDropsRejoinsWhenItReopens() {
        var machine = ChannelStateMachine()
        let began = machine.beginRejoin()
        #expect(began)
        _ = machine.startJoin(ref: "1", now: t0)
        guard case .retry(let at, _) = machine.failed(.retryable, now: t0, unit: 0.5) else {
            Issue.record("a timed-out join is retried")
            return
        }
        #expect(machine.state == .errored(retryAt: at))
        // The socket closes: the rejoin loop sleeping until `at` is cancelled with it.
        #expect(machine.socketDropped(cause: RealtimeError(.socketClosed, reason: "dropped")).isEmpty)
        machine.joinLoopEnded()
        #expect(machine.state == .errored(retryAt: nil))
        #expect(machine.socketOpened() == [.rejoin])
    }

    @Test func aCloseCarriesTheSystemErrorBeforeItAndIsTheAttemptsFailureDuringAJoin() {
        var machine = ChannelStateMachine()
        let system = RealtimeError(.system, reason: "Client presence rate limit exceeded")
        _ = machine.startJoin(ref: "1", now: t0)
        #expect(machine.serverClosed().isEmpty)
        _ = machine.joinAccepted(ref: "1")
        #expect(machine.serverClosed() == [.remove(cause: RealtimeError(.channelClosed, reason: "server closed the channel"))])
        #expect(machine.systemErrorReceived(system) == [.report(system)])
        #expect(machine.serverClosed() == [.remove(cause: system)])
        _ = machine.startJoin(ref: "2", now: t0)
        _ = machine.joinAccepted(ref: "2")
        #expect(machine.systemError == nil)
    }

    @Test func aRemovedChannelKeepsItsCauseAndIsNotRejoined() {
        var machine = ChannelStateMachine()
        let cause = RealtimeError(.gaveUp, reason: "retries exhausted")
        machine.remove(cause: cause)
        #expect(machine.subscribe() == .removed(cause: cause))
        let rejoins4 = machine.beginRejoin()
        #expect(!rejoins4)
        #expect(machine.state == .closed)
        var left = ChannelStateMachine()
        left.remove(cause: nil)
        #expect(left.subscribe() == .removed(cause: nil))
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

@Suite struct PresenceBudgetTests {
    @Test func presenceBudgetAllowsFiveCallsPerThirtySeconds() {
        var budget = PresenceBudget()
        for second in 0..<5 { let r12 = budget.spend(now: t0.addingTimeInterval(Double(second))); #expect(r12) }
        let r13 = budget.spend(now: t0.addingTimeInterval(10))
        #expect(!r13)
        #expect(budget.nextAllowed(now: t0.addingTimeInterval(10)) == t0.addingTimeInterval(30))
        let r14 = budget.spend(now: t0.addingTimeInterval(30))
        #expect(r14)
    }
}
