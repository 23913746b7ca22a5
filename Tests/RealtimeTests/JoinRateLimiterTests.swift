import Foundation
import Shared
import Testing

private let t0 = Date(timeIntervalSince1970: 1_800_000_000)

/// The most instants inside any window of `length` seconds (a window holds instants less than `length` apart).
private func busiest(_ instants: [Date], within length: Double) -> Int {
    let sorted = instants.sorted()
    var best = 0
    var start = 0
    for end in sorted.indices {
        while sorted[end].timeIntervalSince(sorted[start]) >= length { start += 1 }
        best = max(best, end - start + 1)
    }
    return best
}

/// Reproducible delays in `0..<limit` seconds (a linear congruential sequence), so a failure replays.
private struct Jitter {
    var state: UInt64

    mutating func next(below limit: Double) -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) / Double(1 << 53) * limit
    }
}

/// Books `count` joins the way `JoinGate` does, on `time`: ask at the clock's now, sleep until the slot,
/// and note the instant the frame would go out.
private func sendInstants(_ count: Int, limiter: JoinRateLimiter, time: Timekeeper) async throws -> [Date] {
    var limiter = limiter
    var sent: [Date] = []
    for _ in 0..<count {
        let now = time.now()
        let wait = limiter.reserve(now: now).timeIntervalSince(now)
        if wait > 0 { try await time.sleep(.seconds(double: wait)) }
        sent.append(time.now())
    }
    return sent
}

@Suite struct JoinRateLimiterTests {
    @Test func aThousandJoinsKeepEveryWindowOfOneSecondPlusTheMarginToTheRate() {
        var limiter = JoinRateLimiter(perSecond: 100, margin: .milliseconds(100))
        let slots = (0..<1000).map { _ in limiter.reserve(now: t0) }
        // `Date` keeps about 0.1 µs of precision this far from 2001, hence the 1 µs tolerance.
        for index in slots.indices.dropFirst() {
            #expect(slots[index].timeIntervalSince(slots[index - 1]) >= 0.01 - 1e-6)
        }
        for index in slots.indices.dropFirst(100) {
            #expect(slots[index].timeIntervalSince(slots[index - 100]) >= 1.1 - 1e-6)
        }
        #expect(busiest(slots, within: 1.1) == 100)
        // Ten blocks of 100: each block spaced over 0.99 s, and starting 1.1 s after the one before.
        #expect(abs(slots.last!.timeIntervalSince(t0) - 10.89) < 0.001)
    }

    @Test func aBurstNoLargerThanTheRateOnlyPaysTheSpacing() {
        var limiter = JoinRateLimiter(perSecond: 100, margin: .milliseconds(100))
        let slots = (0..<100).map { _ in limiter.reserve(now: t0) }
        #expect(abs(slots.last!.timeIntervalSince(t0) - 0.99) < 0.001)
    }

    @Test func theHundredAndFirstJoinWaitsForTheOldestToLeaveTheWindow() {
        var limiter = JoinRateLimiter(perSecond: 100, margin: .milliseconds(100))
        for _ in 0..<100 { _ = limiter.reserve(now: t0) }
        // The slots ran from t0 to t0 + 0.99 s: spacing alone would allow the next one at t0 + 1 s, the window
        // only once the first is 1.1 s old.
        #expect(abs(limiter.reserve(now: t0.addingTimeInterval(1)).timeIntervalSince(t0) - 1.1) < 0.000_001)
        #expect(abs(limiter.reserve(now: t0.addingTimeInterval(1)).timeIntervalSince(t0) - 1.11) < 0.000_001)
    }

    @Test func anIdleLimiterAdmitsAtOnce() {
        var limiter = JoinRateLimiter(perSecond: 100)
        for _ in 0..<100 { _ = limiter.reserve(now: t0) }
        let later = t0.addingTimeInterval(5)
        #expect(limiter.reserve(now: later) == later)
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func jitterBelowTheMarginNeverPutsMoreThanTheRateInOneSecondAtTheReceiver(seed: UInt64) async throws {
        let time = Timekeeper.virtual(start: t0)
        let sent = try await sendInstants(1000, limiter: JoinRateLimiter(perSecond: 100, margin: .milliseconds(100)), time: time)
        var jitter = Jitter(state: seed)
        let received = sent.map { $0.addingTimeInterval(jitter.next(below: 0.1)) }
        #expect(busiest(received, within: 1) <= 100)
        #expect(busiest(received, within: 1) >= 90)
    }

    @Test func spacingAloneLetsTheSameJitterExceedTheRate() async throws {
        let time = Timekeeper.virtual(start: t0)
        let sent = try await sendInstants(1000, limiter: JoinRateLimiter(perSecond: 100, margin: .zero), time: time)
        var jitter = Jitter(state: 1)
        let received = sent.map { $0.addingTimeInterval(jitter.next(below: 0.1)) }
        #expect(busiest(sent, within: 1) == 100)
        #expect(busiest(received, within: 1) > 100)
    }
}

@Suite struct SentJoinsTests {
    /// Tasks woken up to 400 ms late (a saturated machine) still never put 101 departures in 1.1 s. Attempts are
    /// played in time order, as the gate's lock sees them: each join wakes late for its slot, and again after
    /// every refusal.
    @Test func lateWakeUpsNeverBunchDepartures() {
        var generator = SplitMix64(seed: 7)
        func late() -> Double { Double(generator.next() % 400) / 1000 }
        var limiter = JoinRateLimiter(perSecond: 100)
        var sent = SentJoins(perSecond: 100, window: limiter.window)
        var attempts = (0..<1000).map { _ in limiter.reserve(now: t0).addingTimeInterval(late()) }
        let naive = attempts
        var departures: [Date] = []
        while let next = attempts.indices.min(by: { attempts[$0] < attempts[$1] }) {
            if let free = sent.depart(at: attempts[next]) {
                attempts[next] = free.addingTimeInterval(late())
            } else {
                departures.append(attempts.remove(at: next))
            }
        }
        #expect(departures.count == 1000)
        #expect(busiest(naive, within: 1) > 100, "late wake-ups alone do bunch: the check is needed")
        #expect(busiest(departures, within: 1.1) <= 100)
        #expect(sent.busiestSecond == busiest(departures, within: 1), "the pool's own count agrees with a count of the departures")
    }

    @Test func anIdleRecordLetsAJoinGoAtOnce() {
        var sent = SentJoins(perSecond: 2, window: .seconds(1))
        #expect(sent.depart(at: t0) == nil)
        #expect(sent.depart(at: t0.addingTimeInterval(0.1)) == nil)
        #expect(sent.depart(at: t0.addingTimeInterval(0.5)) == t0.addingTimeInterval(1))
        #expect(sent.depart(at: t0.addingTimeInterval(1)) == nil)
    }
}
