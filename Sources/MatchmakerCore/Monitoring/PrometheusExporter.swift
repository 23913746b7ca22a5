import Metrics
import Prometheus

/// The one place Prometheus is imported: the registry behind `/metrics` and the factory that feeds it.
public struct PrometheusExporter: Sendable {
    /// The registry every instrument of this process registers with.
    public let registry: PrometheusCollectorRegistry

    /// Creates an exporter with a fresh registry.
    public init() { registry = PrometheusCollectorRegistry() }

    /// A metrics factory that records into this exporter's registry.
    public var factory: any MetricsFactory { PrometheusMetricsFactory(registry: registry) }

    /// Makes this exporter the process-wide metrics backend; call once, from `main`.
    public func bootstrap() { MetricsSystem.bootstrap(factory) }

    /// The Prometheus text exposition of every instrument.
    public func render() -> [UInt8] { registry.emitToBuffer() }
}
