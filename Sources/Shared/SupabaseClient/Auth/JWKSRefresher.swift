import Foundation
import Logging
import ServiceLifecycle

/// Keeps a `JWKSCache` loaded: fetches at start and, until the first fetch succeeds, retries with
/// backoff (1 s doubling to 60 s); then refreshes every `interval` (default 10 min, Supabase's edge
/// cache time), keeping the old keys when a refresh fails.
///
/// `serve` does not wait for the keys: until they arrive, tokens signed with JWKS keys are refused
/// (401 `Invalid JWT`, the reason logged), while HS256 tokens and API keys already work.
public struct JWKSRefresher: Service {
    /// The cache to fill.
    public let cache: JWKSCache
    /// Where the keys come from, for logs.
    public let url: String
    /// Time between refreshes once loaded.
    public var interval: Duration = .seconds(600)
    /// Delays between failed first fetches.
    public var backoff = Backoff(maxRetries: .max, baseDelay: .seconds(1), maxDelay: .seconds(60))
    let time: Timekeeper
    let logger: Logger

    /// A refresher of `cache`, whose document is at `url`.
    public init(cache: JWKSCache, url: String, time: Timekeeper = .system, logger: Logger) {
        self.cache = cache
        self.url = url
        self.time = time
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var failures = 0
            while !Task.isCancelled {
                do {
                    try await cache.refresh()
                    failures = 0
                    let kids = await cache.keyIDs
                    logger.info("JWKS loaded", metadata: ["url": "\(url)", "kids": "\(kids)"])
                    try await time.sleep(interval)
                } catch is CancellationError {
                    return
                } catch {
                    failures += 1
                    let delay = backoff.delay(attempt: failures, unit: Double.random(in: 0...1))
                    let loaded = await !cache.keyIDs.isEmpty
                    logger.error(
                        loaded
                            ? "JWKS fetch failed; keeping the keys loaded before"
                            : "JWKS fetch failed; tokens signed with its keys are refused until it succeeds",
                        metadata: ["url": "\(url)", "error": "\(error)", "retryIn": "\(delay)"])
                    // Shutdown during the backoff ends the service quietly, not with an error.
                    do { try await time.sleep(delay) } catch { return }
                }
            }
        }
    }
}
