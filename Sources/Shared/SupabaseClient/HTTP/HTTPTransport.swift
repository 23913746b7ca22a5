import Foundation

/// One outbound HTTP request, as plain values so that it can be recorded, compared and replayed.
public struct UpstreamRequest: Codable, Sendable, Hashable {
    /// `GET`, `POST`, `PATCH`, `DELETE`, …
    public var method: String
    /// Path and query, relative to the upstream's base URL (`/rest/v1/rpc/read`).
    public var path: String
    /// Headers that change the meaning of the request, lower-cased names; secrets are never here.
    public var headers: [String: String]
    /// The body, when there is one.
    public var body: JSONValue?

    /// Creates a request.
    public init(method: String, path: String, headers: [String: String] = [:], body: JSONValue? = nil) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
    }
}

/// One HTTP response: status and body.
public struct UpstreamResponse: Codable, Sendable, Hashable {
    /// The status code.
    public var status: Int
    /// The body as text (JSON for PostgREST; may be empty).
    public var body: String

    /// Creates a response.
    public init(status: Int, body: String) {
        self.status = status
        self.body = body
    }
}

/// Sends requests to one upstream (a Supabase project, or the embedded backend).
///
/// Credentials are the transport's business: `UpstreamRequest` carries none, so recordings hold no secrets.
public protocol HTTPTransport: Sendable {
    /// Sends `request` and returns the response, whatever its status.
    /// - Throws: `UpstreamError` for transport failures (connect, timeout, reset).
    func send(_ request: UpstreamRequest) async throws -> UpstreamResponse
}

/// A failure talking to an upstream, with its class for retries.
public struct UpstreamError: ClassifiedError, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Hashable {
        /// The upstream answered with a non-2xx status.
        case status(Int)
        /// No answer in time.
        case timeout
        /// Connection refused, reset, DNS, TLS…
        case transport
    }

    /// What went wrong.
    public var kind: Kind
    /// PostgREST's or the upstream's error code, when it sent one (`PGRST202`, `23505`, `MM001`, …).
    public var code: String?
    /// The upstream's message (for logs, never echoed to callers).
    public var message: String

    /// Creates an error.
    public init(kind: Kind, code: String? = nil, message: String) {
        self.kind = kind
        self.code = code
        self.message = message
    }

    /// The HTTP status, when there was one.
    public var status: Int? {
        if case .status(let status) = kind { return status }
        return nil
    }

    /// 429, 5xx, timeouts and connection errors are retried; other 4xx are final.
    public var failureClass: FailureClass {
        switch kind {
        case .timeout, .transport: .retryable
        case .status(let status): status >= 500 ? .retryable : ErrorClassifier.classify(status: status)
        }
    }

    public var description: String {
        switch kind {
        case .status(let status): "HTTP \(status)\(code.map { " \($0)" } ?? ""): \(message)"
        case .timeout: "timeout: \(message)"
        case .transport: "transport error: \(message)"
        }
    }
}
