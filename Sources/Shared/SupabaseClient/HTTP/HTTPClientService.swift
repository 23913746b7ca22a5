import AsyncHTTPClient
import ServiceLifecycle

/// Owns an `HTTPClient` for the life of a service group and shuts it down on graceful shutdown.
public struct HTTPClientService: Service {
    /// The client.
    public let client: HTTPClient

    /// Wraps `client`.
    public init(client: HTTPClient) { self.client = client }

    public func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}
