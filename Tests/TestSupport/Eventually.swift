import Testing

/// Checks `condition` every 10 ms until it holds, for state that no event announces (counters, tables);
/// records a test failure after `limit`. Never a way to wait for something a test could be told about.
public func eventually(within limit: Duration = .seconds(10), _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + limit
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(limit)")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
