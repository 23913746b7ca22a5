import Foundation
import Logging
import Shared

/// `Notifier` over Realtime's REST broadcast: `user:<id>`, 202 = delivered to Realtime. A batch goes
/// in one request of up to `maxBatchSize` messages.
struct SupabaseNotifier: BatchNotifier {
    let broadcast: BroadcastClient

    /// Messages per request: 1,000 matched notices are about 300 KB of JSON.
    var maxBatchSize: Int { 1_000 }

    func send(batch notifications: [UserNotification]) async throws {
        try await broadcast.send(notifications.map { ($0.topic, $0.event, $0.payload) })
    }

    func send(_ notification: UserNotification) async throws {
        try await broadcast.send(topic: notification.topic, event: notification.event, payload: notification.payload)
    }
}
