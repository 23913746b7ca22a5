import NIOCore
import NIOHTTP1

/// The answer to a request that never reaches the routes: the HTTP parser refused it, its head came too
/// slowly, or the server is full. The connection is closed after it.
public struct HTTPRefusal: Sendable, Hashable {
    /// The status.
    public var status: HTTPResponseStatus
    /// What went wrong, the body's `error`.
    public var reason: String

    /// A refusal with `status`, explaining `reason`.
    public init(status: HTTPResponseStatus, reason: String) {
        self.status = status
        self.reason = reason
    }

    /// The answer to a parser error; `inRequestLine` says no line end had arrived yet (an overflow is the URL's).
    public static func answer(to error: HTTPParserError, inRequestLine: Bool) -> HTTPRefusal {
        switch error {
        case .headerOverflow where inRequestLine: HTTPRefusal(status: .uriTooLong, reason: "URI too long")
        case .headerOverflow: HTTPRefusal(status: .requestHeaderFieldsTooLarge, reason: "Request header fields too large")
        case .invalidVersion: HTTPRefusal(status: .httpVersionNotSupported, reason: "HTTP version not supported")
        case .unexpectedContentLength: HTTPRefusal(status: .badRequest, reason: "Content-Length with Transfer-Encoding")
        case .invalidMethod: HTTPRefusal(status: .badRequest, reason: "Invalid method")
        default: HTTPRefusal(status: .badRequest, reason: "Malformed request: \(error)")
        }
    }

    /// A request head that did not arrive within the header timeout.
    public static let headerTimeout = HTTPRefusal(status: .requestTimeout, reason: "Request header timeout")
    /// A connection beyond the server's cap.
    public static let serverFull = HTTPRefusal(status: .serviceUnavailable, reason: "Too many open connections")

    /// The body: `{"error":"<reason>"}`.
    public var body: String {
        let escaped = reason.unicodeScalars.map { scalar -> String in
            switch scalar {
            case "\"": "\\\""
            case "\\": "\\\\"
            case _ where scalar.value < 0x20: ""
            default: String(scalar)
            }
        }
        return #"{"error":""# + escaped.joined() + #""}"#
    }

    /// The whole response as bytes, for a channel without an HTTP encoder.
    public var bytes: String {
        let body = body
        return "HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\nConnection: close\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    /// The response head, for the HTTP encoder.
    var head: HTTPResponseHead {
        HTTPResponseHead(
            version: .http1_1, status: status,
            headers: ["connection": "close", "content-type": "application/json", "content-length": "\(body.utf8.count)"]
        )
    }
}
