import Shared
import Synchronization

/// Delivers notifications inside the process and keeps a log of every one delivered.
public final class EmbeddedNotifier: Notifier {
    private let delivered = Mutex<[UserNotification]>([])
    private let faults: EmbeddedFaults

    /// Creates a notifier that consults `faults` before each delivery.
    public init(faults: EmbeddedFaults = EmbeddedFaults()) { self.faults = faults }

    /// Every notification delivered so far, in delivery order.
    public var log: [UserNotification] { delivered.withLock { $0 } }

    public func send(_ notification: UserNotification) async throws {
        try faults.check(.notify(user: notification.userID))
        delivered.withLock { $0.append(notification) }
    }
}
