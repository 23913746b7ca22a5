import MatchmakerCore
import Shared
import Testing

/// The embedded notifier keeps its delivery log, which fixtures and tests read.
@Suite struct EmbeddedNotifierTests {
    @Test func deliveredNotificationsAreLoggedInOrder() async throws {
        let notifier = EmbeddedNotifier()
        try await notifier.send(.noMatches("u1", reason: "none"))
        try await notifier.send(.skipped("u2"))
        #expect(notifier.log.map(\.userID) == ["u1", "u2"])
    }
}
