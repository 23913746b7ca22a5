import Foundation
import HummingbirdCore
import Logging
import MatchmakerCore
import Shared
import Testing

@testable import EmbeddedSupabase

/// Inputs the fuzzers found that crashed the process, each kept as a regression test (files in `Crashers/`).
@Suite struct CrasherTests {
    /// `PhoenixSerializer.encodeUserBroadcast` wrote the meta's length with `UInt8(_:)`, which traps beyond 255.
    /// A client's binary push whose 255-byte meta holds invalid UTF-8 is repaired to U+FFFD on decoding, so the
    /// hub's re-rendered meta grew to 749 bytes and the fan-out to a vsn 2.0.0 subscriber killed the process.
    /// Now the binary encoding is refused (`nil`) and the hub sends the text frame.
    @Test func aBinaryBroadcastWhoseMetaGrowsPast255BytesIsNotACrash() throws {
        let serializer = PhoenixSerializer(version: .v2)
        let push = try serializer.decode(binary: try FuzzFiles.crasher("phoenix-binary-meta-grows-past-255.bin"))
        let meta = try #require(push.payload["meta"])
        #expect(meta.jsonBytes.count > 255)
        #expect(serializer.encodeUserBroadcast(topic: push.topic, event: "cursor", payload: push.payload, meta: meta) == nil)
        let fits = serializer.encodeUserBroadcast(topic: push.topic, event: "cursor", payload: ["x": 1], meta: ["id": "m1"])
        #expect(fits.map { try? serializer.decode(binary: $0) }??.payload["meta"] == ["id": "m1"])
    }
}

/// Found by `FixtureFuzzTests` (seed 2026): a skip `age` of `1e308` loaded, and building the fixture trapped
/// in `Timestamp.format` (a `Double` beyond `Int64`). The fixture's times are now checked before they are used.
@Suite struct FixtureCrasherTests {
    @Test func aFixtureWithAnAgeNoClockCanHoldIsAClearError() async throws {
        let url = FuzzFiles.root.appendingPathComponent("Crashers/fixture-skip-age-1e308.json")
        let fixture = try FixtureRunner.load(url)
        let runner = FixtureRunner(logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
        let error = await #expect(throws: FixtureError.self) { try await runner.run(fixture) }
        #expect(error?.message == "skips[0].age: 1e+308 is out of range (±3155760000 s)")
    }
}

/// Found by `PostgRESTFuzzTests` (seed 2026, long run): a timestamp filter whose year the date formatter
/// wraps (`99999999-12-03` parsed to 5.8 million BC) reached `Timestamp.format`, which trapped converting it
/// to microseconds: one `GET /rest/v1/user?last_active=gt.99999999-12-03T00:00:00Z` on a table with a row
/// killed the process. Such a value is now no timestamp (22007), and formatting is total.
@Suite struct PostgRESTCrasherTests {
    @Test func aTimestampFilterBeyondEveryClockIs22007() throws {
        let query = String(decoding: try FuzzFiles.crasher("postgrest-timestamp-year-99999999.txt"), as: UTF8.self)
        let parameters = URI("/rest/v1/user?" + query).queryParameters.map { (key: String($0.key), value: String($0.value)) }
        let parsed = try PostgRESTQuery(parameters)
        let schema = try #require(TableSchema.all["user"])
        let error = #expect(throws: SQLError.self) { try parsed.filter.matches(PostgRESTFuzzTests.row(schema), in: schema) }
        #expect(error?.code == "22007")
        #expect(Timestamp.parse("99999999-12-03T00:00:00Z") == nil)
        #expect(Timestamp.format(Date(timeIntervalSince1970: -1.8e14)) == Timestamp.format(Date(timeIntervalSince1970: -210_866_803_200)))
    }
}
