import Shared
import Testing

/// The seed's channel backoff (contract §7), which the Realtime client's rejoin schedule uses.
@Suite struct ChannelBackoffTests {
    @Test(arguments: [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (5, 30.0), (10, 30.0)])
    func nominalDelayDoublesUpToTheCap(attempt: Int, seconds: Double) {
        #expect(Backoff.channel.nominalDelay(attempt: attempt).seconds == seconds)
    }

    @Test func jitterAddsAtMostThirtyPercent() {
        #expect(Backoff.channel.delay(attempt: 1, unit: 0).seconds == 2)
        #expect(abs(Backoff.channel.delay(attempt: 1, unit: 0.999_999).seconds - 2.6) < 0.001)
    }
}
