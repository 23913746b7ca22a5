import HTTPTypes
import Hummingbird
import NIOCore
import Shared

/// `/healthz`, `/readyz`, `/metrics` and `/stats`.
struct OpsController: Sendable {
    /// `/stats` now.
    let stats: @Sendable () -> StatsReport
    let exporter: PrometheusExporter
    /// Whether the backend can serve a pass; `nil` reason means ready.
    let readiness: @Sendable () async -> String?

    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/healthz") { _, _ in Response.json(["status": "ok"] as JSONValue) }
        router.get("/readyz") { _, _ in
            if let reason = await readiness() {
                return Response.json(["status": "not ready", "reason": .string(reason)] as JSONValue, status: .serviceUnavailable)
            }
            return Response.json(["status": "ready"] as JSONValue)
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: exporter.render()))
            )
        }
        router.get("/stats") { _, _ in Response.json(stats()) }
    }
}
