import EmbeddedSupabase
import MatchmakerCore
import Shared
import Testing

/// The embedded notifier keeps its delivery log, which fixtures and tests read; a server's keeps none.
@Suite struct EmbeddedNotifierTests {
    @Test func deliveredNotificationsAreLoggedInOrder() async throws {
        let notifier = EmbeddedNotifier()
        try await notifier.send(.noMatches("u1", reason: "none"))
        try await notifier.send(.skipped("u2"))
        #expect(notifier.log.map(\.userID) == ["u1", "u2"])
    }

    /// A log of every notification ever sent was `serve`'s memory growing with every match (the soak).
    @Test func aServersBackendDeliversThroughTheHubAndKeepsNoLog() async throws {
        let backend = EmbeddedBackend(queueName: "stranger-queue", queueMaxMessages: 10)
        let injected = EmbeddedFaults()
        let notifier = EmbeddedNotifier(faults: injected, keepsLog: false)
        try await backend.notifier.send(.skipped("u1"))
        injected.script(.notify(user: "u2"), [.error])
        await #expect(throws: InjectedFault.self) { try await notifier.send(.skipped("u2")) }
        try await notifier.send(.skipped("u3"))
        #expect(backend.notifier.log.isEmpty && backend.notifier.attempts.isEmpty)
        #expect(notifier.log.isEmpty && notifier.attempts.isEmpty)
    }
}
