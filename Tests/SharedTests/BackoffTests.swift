import Shared
import Testing

@Suite struct BackoffTests {
    @Test(arguments: [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0), (5, 30.0), (10, 30.0)])
    func nominalDelayDoublesFromTheBaseUpToTheCap(attempt: Int, seconds: Double) {
        #expect(Backoff.channel.nominalDelay(attempt: attempt).seconds == seconds)
    }

    @Test func seedValuesMatchTheContract() {
        #expect(Backoff.channel.maxRetries == 10)
        #expect(Backoff.channel.baseDelay == .milliseconds(2000))
        #expect(Backoff.channel.maxDelay == .milliseconds(30000))
        #expect(Backoff.channel.jitter == 0.3)
    }

    @Test(arguments: [0.0, 0.25, 0.5, 0.999_999])
    func jitterAddsUpToThirtyPercent(unit: Double) {
        for attempt in 1...12 {
            let nominal = Backoff.channel.nominalDelay(attempt: attempt).seconds
            let delay = Backoff.channel.delay(attempt: attempt, unit: unit).seconds
            #expect(delay >= nominal)
            #expect(delay <= nominal * 1.3 + 1e-9)
            #expect(abs(delay - nominal * (1 + 0.3 * unit)) < 1e-6)
        }
    }

    @Test func jitterSpreadsDelaysUniformly() {
        var random = SplitMix64(seed: 42)
        let delays = (0..<10_000).map { _ in
            Backoff.channel.delay(attempt: 1, unit: Double(random.next() >> 11) / Double(1 << 53)).seconds
        }
        #expect(delays.min()! >= 2.0)
        #expect(delays.max()! <= 2.6)
        let mean = delays.reduce(0, +) / Double(delays.count)
        #expect(abs(mean - 2.3) < 0.01)
        let lowHalf = delays.filter { $0 < 2.3 }.count
        #expect((4_800...5_200).contains(lowHalf))
    }
}

@Suite struct ErrorClassifierTests {
    @Test(arguments: [
        "AUTH_INVALID", "tenant_not_found", "Unauthorized: You do not have permissions to read from this Channel topic",
        "forbidden", "InvalidJWTToken: Token has expired 10 seconds ago", "MalformedJWT", "JwtSignatureError", "PrivateOnly",
        "TenantNotFound", "RealtimeDisabledForTenant", "TopicNameRequired",
    ])
    func authAndConfigurationErrorsAreFinal(text: String) {
        #expect(!ErrorClassifier.classify(text: text).isRetryable)
    }

    @Test(arguments: ["ChannelRateLimitReached", "ConnectionRateLimitReached", "ClientJoinRateLimitReached"])
    func rateLimitsAreRetried(text: String) {
        let failure = ErrorClassifier.classify(text: "system error: \(text)")
        #expect(failure == .rateLimited(pattern: text))
        #expect(failure.isRetryable)
    }

    @Test(arguments: ["connection reset by peer", "timeout", "HTTP 502 Bad Gateway", ""])
    func everythingElseIsRetried(text: String) {
        #expect(ErrorClassifier.classify(text: text) == .retryable)
    }

    @Test(arguments: [(401, false), (403, false), (404, false), (429, true), (500, true), (502, true), (503, true)])
    func httpStatusesOnTheHandshake(status: Int, retryable: Bool) {
        #expect(ErrorClassifier.classify(status: status).isRetryable == retryable)
    }

    @Test func timeoutsAreRetried() {
        #expect(ErrorClassifier.classify(TimeoutError(limit: .seconds(8))) == .retryable)
    }
}
