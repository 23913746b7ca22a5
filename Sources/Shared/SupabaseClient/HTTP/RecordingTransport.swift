import Synchronization

/// One request and what came back: a response, or a transport failure.
public struct Exchange: Codable, Sendable, Hashable {
    /// The request as sent.
    public var request: UpstreamRequest
    /// The response, when there was one.
    public var response: UpstreamResponse?
    /// The transport failure (`timeout` or `transport`), when there was no response.
    public var failure: String?

    /// Creates an exchange.
    public init(request: UpstreamRequest, response: UpstreamResponse? = nil, failure: String? = nil) {
        self.request = request
        self.response = response
        self.failure = failure
    }
}

/// Passes requests through to another transport and keeps every exchange in the order the requests were sent.
public final class RecordingTransport: HTTPTransport {
    private let inner: any HTTPTransport
    private let log = Mutex<[Exchange]>([])

    /// Records what goes through `inner`.
    public init(recording inner: any HTTPTransport) { self.inner = inner }

    /// Every exchange so far.
    public var exchanges: [Exchange] { log.withLock { $0 } }

    public func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
        // The slot is taken when the request leaves, so that the order is the order of sending.
        let slot = log.withLock { log in
            log.append(Exchange(request: request))
            return log.count - 1
        }
        do {
            let response = try await inner.send(request)
            log.withLock { $0[slot].response = response }
            return response
        } catch let error as UpstreamError {
            log.withLock { $0[slot].failure = error.kind == .timeout ? "timeout" : "transport" }
            throw error
        }
    }
}

/// Serves recorded exchanges back and checks that the same requests arrive in the same order.
///
/// Requests a pass sends at the same time (the two notifications of a pair) may arrive in either
/// order, so a request may match any of the next `window` unanswered exchanges; anything else is a
/// difference, and so is a recorded exchange that was never requested.
public final class ReplayTransport: HTTPTransport {
    private struct State {
        var pending: [Exchange]
        var used: [Bool]
        var differences: [String] = []
    }

    private let state: Mutex<State>
    private let window: Int

    /// Replays `exchanges`.
    public init(exchanges: [Exchange], window: Int = 4) {
        state = Mutex(State(pending: exchanges, used: Array(repeating: false, count: exchanges.count)))
        self.window = window
    }

    /// Differences found so far, plus every recorded exchange that was never requested.
    public var differences: [String] {
        state.withLock { state in
            state.differences
                + state.pending.indices.filter { !state.used[$0] }.map {
                    "exchange \($0): never requested: \(state.pending[$0].request.method) \(state.pending[$0].request.path)"
                }
        }
    }

    public func send(_ request: UpstreamRequest) async throws -> UpstreamResponse {
        let exchange: Exchange? = state.withLock { state in
            let open = state.pending.indices.filter { !state.used[$0] }.prefix(window)
            guard let index = open.first(where: { state.pending[$0].request == request }) else {
                let expected = open.first.map { "\(state.pending[$0].request.method) \(state.pending[$0].request.path)" } ?? "nothing"
                state.differences.append("unexpected request \(request.method) \(request.path) (expected \(expected))")
                return nil
            }
            state.used[index] = true
            return state.pending[index]
        }
        guard let exchange else { throw UpstreamError(kind: .transport, message: "replay: unexpected request \(request.path)") }
        if let response = exchange.response { return response }
        throw UpstreamError(
            kind: exchange.failure == "timeout" ? .timeout : .transport, message: "replayed \(exchange.failure ?? "failure")")
    }
}
