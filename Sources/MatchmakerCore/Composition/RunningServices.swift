import Logging
import ServiceLifecycle

/// Runs `body` while `services` run in a group of their own (clients a one-shot command needs: database
/// pool, Realtime sockets, HTTP client), then shuts them down gracefully and returns `body`'s result.
public func withRunning<T: Sendable>(
    _ services: [any Service], logger: Logger, _ body: @Sendable () async throws -> T
) async throws -> T {
    let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
    return try await withThrowingTaskGroup(of: T?.self) { tasks in
        tasks.addTask {
            try await group.run()
            return nil
        }
        defer { tasks.cancelAll() }
        let result = try await body()
        await group.triggerGracefulShutdown()
        return result
    }
}
