import Foundation
import Shared
import Synchronization
import Testing

@Suite struct RetryRunnerTests {
    struct Transient: Error {}
    struct Refused: ClassifiedError {
        var failureClass: FailureClass { .fatal(pattern: "HTTP 401") }
    }

    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func retriesTransientFailuresWithBackoffUntilSuccess() async throws {
        let time = Timekeeper.virtual(start: start)
        let runner = RetryRunner(backoff: .channel, attemptTimeout: nil, time: time, unit: { 0 })
        let attempts = Mutex(0)
        let value = try await runner.run { attempt in
            attempts.withLock { $0 = attempt }
            if attempt < 3 { throw Transient() }
            return "done"
        }
        #expect(value == "done")
        #expect(attempts.withLock { $0 } == 3)
        // Two waits: 2 s then 4 s, with no jitter.
        #expect(time.now().timeIntervalSince(start) == 6)
    }

    @Test func fatalFailuresAreTriedExactlyOnce() async {
        let runner = RetryRunner(backoff: .channel, attemptTimeout: nil, time: .virtual(start: start))
        let attempts = Mutex(0)
        await #expect(throws: RetryFailure.self) {
            try await runner.run { _ in
                attempts.withLock { $0 += 1 }
                throw Refused()
            }
        }
        #expect(attempts.withLock { $0 } == 1)
    }

    @Test func givesUpAfterMaxRetries() async {
        let backoff = Backoff(maxRetries: 3, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        let runner = RetryRunner(backoff: backoff, attemptTimeout: nil, time: .virtual(start: start))
        let failures = Mutex(0)
        do {
            _ = try await runner.run(onFailure: { _, _, _ in failures.withLock { $0 += 1 } }) { _ -> Int in throw Transient() }
            Issue.record("expected a failure")
        } catch let failure as RetryFailure {
            #expect(failure.attempts == 4)
            #expect(failure.reason == .exhausted)
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(failures.withLock { $0 } == 4)
    }

    @Test func anAttemptThatHangsTimesOutAndIsRetried() async {
        // On virtual time the timeout's sleep returns at once, so a hanging attempt loses the race every time.
        let backoff = Backoff(maxRetries: 2, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        let runner = RetryRunner(backoff: backoff, attemptTimeout: .seconds(8), time: .virtual(start: start))
        do {
            _ = try await runner.run { _ -> Int in
                try await Task.sleep(for: .seconds(3600))
                return 1
            }
            Issue.record("expected a timeout")
        } catch let failure as RetryFailure {
            #expect(failure.attempts == 3)
            #expect(failure.lastError is TimeoutError)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func aFastAttemptBeatsItsTimeout() async throws {
        let runner = RetryRunner(backoff: .notification, attemptTimeout: .seconds(8), time: .system)
        #expect(try await runner.run { _ in 42 } == 42)
    }
}
