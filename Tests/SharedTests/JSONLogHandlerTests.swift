import Foundation
import Logging
import Shared
import Synchronization
import Testing

@Suite struct JSONLogHandlerTests {
    static let instant = Date(timeIntervalSince1970: 1_796_263_200.25)

    /// Lines a handler wrote.
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        func append(_ line: String) { lines.withLock { $0.append(line) } }
    }

    func logger(_ lines: Lines, level: Logger.Level = .info) -> Logger {
        var logger = Logger(label: "matchmaker.test") { label in
            JSONLogHandler(label: label, now: { Self.instant }, sink: lines.append)
        }
        logger.logLevel = level
        return logger
    }

    @Test func aRecordIsOneLineOfExactJSON() throws {
        let lines = Lines()
        var logger = logger(lines)
        logger[metadataKey: "backend"] = "embedded"
        logger.info("Starting", metadata: ["http.port": "8080"], source: "Matchmaker")
        logger.debug("below the level")
        #expect(
            lines.all == [
                #"{"label":"matchmaker.test","level":"info","message":"Starting","metadata":{"backend":"embedded","http.port":"8080"},"#
                    + #""source":"Matchmaker","timestamp":"2026-12-03T02:00:00.250Z"}"#
            ])
    }

    @Test func nestedMetadataQuotesNewlinesAndUnicodeSurviveARoundTrip() throws {
        let lines = Lines()
        let logger = logger(lines)
        let message = "say \"hi\"\nthen\tleave \\ 👋 é\u{1}"
        logger.warning(
            "\(message)",
            metadata: [
                "pool": ["sockets": "2", "channels": .array(["3", .stringConvertible(4)])],
                "reason": "line one\nline \"two\"",
            ])
        let line = try #require(lines.all.first)
        #expect(!line.contains("\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["message"] as? String == message)
        #expect(object["level"] as? String == "warning")
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["reason"] as? String == "line one\nline \"two\"")
        let pool = try #require(metadata["pool"] as? [String: Any])
        #expect(pool["sockets"] as? String == "2")
        #expect(pool["channels"] as? [String] == ["3", "4"])
        #expect(line.contains(#"say \"hi\"\nthen\tleave \\ 👋 é\u0001"#))
    }

    @Test func anErrorOfTheEventIsItsOwnField() throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "it broke" } }
        let lines = Lines()
        logger(lines).error("Failed", error: Broken())
        let line = try #require(lines.all.first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["error"] as? String == "it broke")
        #expect((object["metadata"] as? [String: Any])?.isEmpty == true)
    }
}
