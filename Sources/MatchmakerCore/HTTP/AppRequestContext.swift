import Hummingbird

/// The request context of every route: Hummingbird's basics with the contract's 1 MiB body limit.
public struct AppRequestContext: RequestContext {
    /// Hummingbird's per-request storage.
    public var coreContext: CoreRequestContextStorage

    /// Creates a context for a request.
    public init(source: Source) { coreContext = .init(source: source) }

    /// Bodies over 1 MiB are refused with 413.
    public var maxUploadSize: Int { 1 << 20 }
}
