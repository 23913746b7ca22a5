/// How a failure should be handled by a retry loop.
public enum FailureClass: Sendable, Hashable {
    /// Transient: retry with backoff.
    case retryable
    /// The server asked us to slow down: retry with backoff, and count it.
    case rateLimited(pattern: String)
    /// Retrying cannot help (bad credentials, unknown tenant, …): give up at once.
    case fatal(pattern: String)

    /// Whether another attempt may succeed.
    public var isRetryable: Bool {
        if case .fatal = self { return false }
        return true
    }

    /// The pattern that decided the class, for per-pattern counters.
    public var pattern: String? {
        switch self {
        case .retryable: nil
        case .rateLimited(let pattern), .fatal(let pattern): pattern
        }
    }
}

/// Sorts failures into retryable, rate-limited and fatal by the error text and HTTP status (contract §7).
public enum ErrorClassifier {
    /// Texts that mean "do not retry", matched case-insensitively anywhere in the error text.
    public static let fatalPatterns = [
        "AUTH_INVALID", "TENANT_NOT_FOUND", "UNAUTHORIZED", "FORBIDDEN",
        "InvalidJWTToken", "MalformedJWT", "JwtSignatureError", "PrivateOnly", "TenantNotFound",
        "RealtimeDisabledForTenant", "TopicNameRequired",
    ]

    /// Texts that mean "slow down", retried with backoff.
    public static let rateLimitPatterns = [
        "ChannelRateLimitReached", "ConnectionRateLimitReached", "ClientJoinRateLimitReached",
    ]

    /// Classifies an error text.
    public static func classify(text: String) -> FailureClass {
        let upper = text.uppercased()
        if let pattern = fatalPatterns.first(where: { upper.contains($0.uppercased()) }) {
            return .fatal(pattern: pattern)
        }
        if let pattern = rateLimitPatterns.first(where: { upper.contains($0.uppercased()) }) {
            return .rateLimited(pattern: pattern)
        }
        return .retryable
    }

    /// Classifies an HTTP status: 401/403/404 are final, 429 is a rate limit, other failures are retried.
    public static func classify(status: Int) -> FailureClass {
        switch status {
        case 401, 403, 404: .fatal(pattern: "HTTP \(status)")
        case 429: .rateLimited(pattern: "HTTP 429")
        case 400..<500: .fatal(pattern: "HTTP \(status)")
        default: .retryable
        }
    }

    /// Classifies the status behind a refused WebSocket upgrade: 401/403/404 are final, 429 is a rate limit,
    /// anything else is retried (5xx, and also the 400/426 a healthy server may give the plain GET that learnt it).
    public static func classify(handshakeStatus status: Int) -> FailureClass {
        switch status {
        case 401, 403, 404: .fatal(pattern: "HTTP \(status)")
        case 429: .rateLimited(pattern: "HTTP 429")
        default: .retryable
        }
    }

    /// Classifies any error: errors that know their class say so, others are judged by their text.
    public static func classify(_ error: any Error) -> FailureClass {
        if let classified = error as? any ClassifiedError { return classified.failureClass }
        if error is TimeoutError { return .retryable }
        return classify(text: String(describing: error))
    }
}

/// An error that knows whether retrying it can help.
public protocol ClassifiedError: Error {
    /// How a retry loop should treat this error.
    var failureClass: FailureClass { get }
}
