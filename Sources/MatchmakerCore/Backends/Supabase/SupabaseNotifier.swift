import Foundation
import Logging
import Shared

/// `Notifier` over Realtime's REST broadcast: `user:<id>`, 202 = delivered to Realtime.
struct SupabaseNotifier: Notifier {
    let broadcast: BroadcastClient

    func send(_ notification: UserNotification) async throws {
        try await broadcast.send(topic: notification.topic, event: notification.event, payload: notification.payload)
    }
}
