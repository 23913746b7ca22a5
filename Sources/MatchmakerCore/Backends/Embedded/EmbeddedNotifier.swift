import EmbeddedSupabase
import Shared
import Synchronization

/// Delivers notifications inside the process (through the local hub) and keeps a log of every one delivered.
public final class EmbeddedNotifier: Notifier {
    private let delivered = Mutex<[UserNotification]>([])
    private let faults: EmbeddedFaults
    private let deliver: @Sendable (UserNotification) -> Void

    /// Creates a notifier that consults `faults` before each delivery and hands each one to `deliver`.
    public init(faults: EmbeddedFaults = EmbeddedFaults(), deliver: @escaping @Sendable (UserNotification) -> Void = { _ in }) {
        self.faults = faults
        self.deliver = deliver
    }

    /// Every notification delivered so far, in delivery order.
    public var log: [UserNotification] { delivered.withLock { $0 } }

    public func send(_ notification: UserNotification) async throws {
        try faults.check(.notify(user: notification.userID))
        delivered.withLock { $0.append(notification) }
        deliver(notification)
    }
}
