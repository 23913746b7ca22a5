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
        let standard: Set<HTTPRequest.Method> = [.get, .head, .post, .put, .patch, .delete, .options]
        return standard.contains(method) ? method.rawValue : "other"
    }

    /// The instruments by label set, created on first use.
    private final class Instruments: Sendable {
        struct Key: Hashable {
            var method: String
            var route: String
            var status: Int
        }

        let factory: any MetricsFactory
        let counters = Mutex<[Key: Counter]>([:])
        let timers = Mutex<[Key: Timer]>([:])

        init(factory: any MetricsFactory) { self.factory = factory }

        func record(method: String, route: String, status: Int, duration: Duration) {
            let key = Key(method: method, route: route, status: status)
            let counter = counters.withLock { counters in
                if let counter = counters[key] { return counter }
                let counter = Counter(
                    label: "matchmaker_http_requests_total",
                    dimensions: [("method", method), ("route", route), ("status", String(status))], factory: factory)
                counters[key] = counter
                return counter
            }
            let timerKey = Key(method: method, route: route, status: 0)
            let timer = timers.withLock { timers in
                if let timer = timers[timerKey] { return timer }
                let timer = Timer(
                    label: "matchmaker_http_request_duration_seconds", dimensions: [("method", method), ("route", route)],
                    factory: factory)
                timers[timerKey] = timer
                return timer
            }
            counter.increment()
            timer.record(duration: duration)
        }
    }
}
