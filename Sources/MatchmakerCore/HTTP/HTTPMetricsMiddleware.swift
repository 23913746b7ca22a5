import HTTPTypes
import Hummingbird
import Metrics
import Synchronization

/// Counts and times every request: `matchmaker_http_requests_total{method,route,status}` and
/// `matchmaker_http_request_duration_seconds{method,route}`.
///
/// Labels stay bounded: `route` is the matched route's pattern (`/rest/v1/{table}`), or `unmatched` when no
/// route matched; `method` is a standard method or `other`. The duration is measured until the response
/// (or error) is returned, before its body is written.
public struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    private let instruments: Instruments

    /// Records into `factory` (the process-wide one by default).
    public init(factory: any MetricsFactory = MetricsSystem.factory) { instruments = Instruments(factory: factory) }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let method = Self.methodLabel(request.method)
        do {
            let response = try await next(request, context)
            instruments.record(
                method: method, route: Self.routeLabel(context.endpointPath), status: response.status.code,
                duration: ContinuousClock.now - started)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            instruments.record(
                method: method, route: Self.routeLabel(context.endpointPath), status: status, duration: ContinuousClock.now - started)
            throw error
        }
    }

    /// The route label: the matched pattern, or `unmatched` (Hummingbird's not-found responder names it `NotFound`).
    static func routeLabel(_ endpointPath: String?) -> String {
        guard let endpointPath, endpointPath != "NotFound" else { return "unmatched" }
        return endpointPath
    }

    /// The method label: one of the standard methods, else `other`.
    static func methodLabel(_ method: HTTPRequest.Method) -> String {
        switch method {
        case .get, .head, .post, .put, .patch, .delete, .options: method.rawValue
        default: "other"
        }
    }

    /// The instruments by label set, created on first use and then found with one lookup under one lock.
    private final class Instruments: Sendable {
        struct Key: Hashable {
            var method: String
            var route: String
            var status: Int
        }

        /// A label set's counter, and the timer of its method and route.
        struct Pair {
            var counter: Counter
            var timer: Timer
        }

        let factory: any MetricsFactory
        let pairs = Mutex<[Key: Pair]>([:])

        init(factory: any MetricsFactory) { self.factory = factory }

        func record(method: String, route: String, status: Int, duration: Duration) {
            let key = Key(method: method, route: route, status: status)
            let pair = pairs.withLock { pairs in
                if let pair = pairs[key] { return pair }
                // The timer has no status label: share one with any other status of the same method and route.
                let timer =
                    pairs.first { $0.key.method == method && $0.key.route == route }?.value.timer
                    ?? Timer(
                        label: "matchmaker_http_request_duration_seconds", dimensions: [("method", method), ("route", route)],
                        factory: factory)
                let pair = Pair(
                    counter: Counter(
                        label: "matchmaker_http_requests_total",
                        dimensions: [("method", method), ("route", route), ("status", String(status))], factory: factory),
                    timer: timer)
                pairs[key] = pair
                return pair
            }
            pair.counter.increment()
            pair.timer.record(duration: duration)
        }
    }
}
