import ServiceLifecycle

extension Timekeeper {
    /// Sleeps `interval`, runs `body`, and again, until the task is cancelled or the service group shuts down.
    ///
    /// The loop of every periodic service (scheduled passes, the outbox relay); `body` handles its own errors.
    public func repeatEvery(_ interval: Duration, _ body: @escaping @Sendable () async -> Void) async {
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await sleep(interval)
                await body()
            }
        }
    }
}
