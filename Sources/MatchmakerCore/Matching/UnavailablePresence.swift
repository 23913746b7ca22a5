import Foundation
import Logging
import Shared

/// Presence when no lobby connection is configured: every pass runs degraded and says why.
public struct UnavailablePresence: PresenceSource {
    /// Why presence is unavailable.
    public let reason: String

    /// Creates the source.
    public init(reason: String) { self.reason = reason }

    public func snapshot() async -> PresenceSnapshot { .unavailable(reason: reason) }
}
