import HTTPTypes
import Hummingbird
import NIOCore
import Shared

/// `/healthz`, `/readyz`, `/metrics` and `/stats`, for `serve` and `bots` alike.
struct OpsController<Stats: Encodable & Sendable>: Sendable {
    /// `/stats` now.
    let stats: @Sendable () -> Stats
    let exporter: PrometheusExporter
    /// Whether the process can do its work; `nil` reason means ready.
    let readiness: @Sendable () async -> String?
    /// Sets the gauges that cost nothing to read, just before `/metrics` renders.
    var refresh: @Sendable () -> Void = {}

    func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.get("/healthz") { _, _ in Response.json(["status": "ok"] as JSONValue) }
        router.get("/readyz") { _, _ in
            if let reason = await readiness() {
                return Response.json(["status": "not ready", "reason": .string(reason)] as JSONValue, status: .serviceUnavailable)
            }
            return Response.json(["status": "ready"] as JSONValue)
        }
        router.get("/metrics") { _, _ in
            refresh()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: exporter.render()))
            )
        }
        router.get("/stats") { _, _ in Response.json(stats()) }
    }
}
