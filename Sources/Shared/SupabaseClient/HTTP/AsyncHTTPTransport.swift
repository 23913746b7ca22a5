import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// The production transport: AsyncHTTPClient with an explicit per-host pool and timeouts.
public struct AsyncHTTPTransport: HTTPTransport {
    let client: HTTPClient
    let baseURL: String
    let apiKey: String
    let timeout: Duration
    let logger: Logger

    /// Creates a transport to `baseURL` that authenticates with `apiKey` (`SupabaseKeyKind.authHeaders`: a legacy
    /// JWT key as `apikey` and bearer token, a new `sb_…` key as `apikey` only; an empty key sends neither).
    /// - Parameter timeout: deadline for one request, connection included (`REALTIME_CONNECT_TIMEOUT`).
    public init(client: HTTPClient, baseURL: String, apiKey: String, timeout: Duration, logger: Logger) {
        self.client = client
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.timeout = timeout
        self.logger = logger
    }

    public func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
        var outbound = HTTPClientRequest(url: baseURL + request.path)
        outbound.method = HTTPMethod(rawValue: request.method)
        for (name, value) in SupabaseKeyKind.authHeaders(for: apiKey).sorted(by: { $0.key < $1.key }) {
            outbound.headers.add(name: name, value: value)
        }
        for (name, value) in request.headers.sorted(by: { $0.key < $1.key }) {
            outbound.headers.add(name: name, value: value)
        }
        if let body = request.body {
            outbound.headers.replaceOrAdd(name: "Content-Type", value: "application/json")
            outbound.body = .bytes(ByteBuffer(string: try JSONCoding.string(body)))
        }
        do {
            let response = try await client.execute(outbound, timeout: .nanoseconds(Int64(timeout.seconds * 1e9)), logger: logger)
            let body = try await response.body.collect(upTo: 16 << 20)
            return UpstreamResponse(status: Int(response.status.code), body: String(buffer: body))
        } catch let error as HTTPClientError where [.deadlineExceeded, .connectTimeout, .readTimeout].contains(error) {
            throw UpstreamError(kind: .timeout, message: "\(request.method) \(request.path): \(error)")
        } catch let error as UpstreamError {
            throw error
        } catch {
            throw UpstreamError(kind: .transport, message: "\(request.method) \(request.path): \(error)")
        }
    }

    /// A client configured as the design asks: HTTP/1 with a per-host connection cap, connect and read timeouts.
    public static func makeClient(connectionsPerHost: Int = 8, connectTimeout: Duration = .seconds(8)) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.httpVersion = .http1Only
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: connectionsPerHost)
        configuration.timeout = .init(connect: .nanoseconds(Int64(connectTimeout.seconds * 1e9)), read: .seconds(15))
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }
}
