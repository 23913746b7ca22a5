import EmbeddedSupabase
import Shared
import Synchronization

/// Delivers notifications inside the process (through the local hub) and, for fixtures and tests, keeps a log of
/// every one delivered and of every attempt, failed ones included.
public final class EmbeddedNotifier: Notifier {
    private let delivered = Mutex<[UserNotification]>([])
    private let tried = Mutex<[NotificationAttempt]>([])
    private let keepsLog: Bool
    private let faults: EmbeddedFaults
    private let deliver: @Sendable (UserNotification) -> Void

    /// Creates a notifier that consults `faults` before each delivery and hands each one to `deliver`. It keeps
    /// `log` and `attempts` when `keepsLog`; a server's notifier keeps neither, or its memory would grow with every
    /// notification ever sent (bench/RESULTS.md, "Soak").
    public init(
        faults: EmbeddedFaults = EmbeddedFaults(), keepsLog: Bool = true,
        deliver: @escaping @Sendable (UserNotification) -> Void = { _ in }
    ) {
        self.faults = faults
        self.keepsLog = keepsLog
        self.deliver = deliver
    }

    /// Every notification delivered so far, in delivery order (empty unless the notifier keeps its log).
    public var log: [UserNotification] { delivered.withLock { $0 } }

    /// Every call of `send` so far, in call order, with how it ended: retries show up here, not in `log` (empty
    /// unless the notifier keeps its log).
    public var attempts: [NotificationAttempt] { tried.withLock { $0 } }

    public func send(_ notification: UserNotification) async throws {
        do {
            try faults.check(.notify(user: notification.userID))
        } catch let fault as InjectedFault {
            if keepsLog { tried.withLock { $0.append(NotificationAttempt(notification, outcome: fault.outcome)) } }
            throw fault
        }
        if keepsLog {
            tried.withLock { $0.append(NotificationAttempt(notification, outcome: .ok)) }
            delivered.withLock { $0.append(notification) }
        }
        deliver(notification)
    }
}

/// One attempt to deliver a notification: to whom, which event, and how the attempt ended.
public struct NotificationAttempt: Codable, Sendable, Hashable {
    /// The user the notification was for.
    public var userID: String
    /// The event (`stranger_matched`, `stranger_no_matches`, `stranger_skipped`).
    public var event: String
    /// `ok` when delivered, else the failure injected for this attempt.
    public var outcome: EmbeddedFaults.Outcome

    /// Creates an attempt record.
    public init(userID: String, event: String, outcome: EmbeddedFaults.Outcome) {
        self.userID = userID
        self.event = event
        self.outcome = outcome
    }

    /// The attempt to deliver `notification`, ended by `outcome`.
    public init(_ notification: UserNotification, outcome: EmbeddedFaults.Outcome) {
        self.init(userID: notification.userID, event: notification.event, outcome: outcome)
    }
}
