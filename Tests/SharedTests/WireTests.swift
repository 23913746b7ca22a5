import Foundation
import Shared
import Testing

@Suite struct WireTests {
    @Test func timestampsUsePostgresFormatWithMicroseconds() {
        let date = Date(timeIntervalSince1970: 1_800_000_000.123456)
        #expect(Timestamp.format(date) == "2027-01-15T08:00:00.123456+00:00")
    }

    @Test(arguments: [
        "2027-01-15T08:00:00.123456+00:00", "2027-01-15 08:00:00.123456+00", "2027-01-15T08:00:00.123456Z",
    ])
    func timestampsParseInEveryFormPostgresSends(text: String) throws {
        let date = try #require(Timestamp.parse(text))
        #expect(abs(date.timeIntervalSince1970 - 1_800_000_000.123456) < 1e-5)
    }

    @Test func queueRowsRoundTripInPgmqShape() throws {
        let json =
            #"{"msg_id":7,"read_ct":2,"enqueued_at":"2027-01-15T08:00:00.000000+00:00","vt":"2027-01-15T08:00:30.000000+00:00","message":{"userId":"u1","continent":"Asia"},"headers":null}"#
        let row = try JSONDecoder().decode(QueueRow.self, from: Data(json.utf8))
        #expect(row.msgID == 7)
        #expect(row.readCount == 2)
        #expect(row.message["userId"] == "u1")
        #expect(
            try JSONCoding.string(row)
                == #"{"enqueued_at":"2027-01-15T08:00:00.000000+00:00","headers":null,"message":{"continent":"Asia","userId":"u1"},"msg_id":7,"read_ct":2,"vt":"2027-01-15T08:00:30.000000+00:00"}"#
        )
    }

    @Test func roomsEncodeAsPostgrestRows() throws {
        let room = Room(id: "abcdefghijklmnopqrstuvwx", first: "u1", second: "u2", createdAt: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(
            try JSONCoding.string(room)
                == #"{"created_at":"2027-01-15T08:00:00.000000+00:00","id":"abcdefghijklmnopqrstuvwx","isDM":true,"is_locked":false,"name":"u1-u2","owner_id":"u1"}"#
        )
    }

    @Test func roomIDsAreCuidShapedAndSeedable() {
        var first = RoomIDGenerator(seed: 7)
        var second = RoomIDGenerator(seed: 7)
        var random = RoomIDGenerator()
        for _ in 0..<1000 {
            let id = first.next()
            #expect(RoomIDGenerator.isValid(id))
            #expect(id == second.next())
            #expect(RoomIDGenerator.isValid(random.next()))
        }
        #expect(!RoomIDGenerator.isValid("1bcdefghijklmnopqrstuvwx"))
        #expect(!RoomIDGenerator.isValid("abc"))
    }

    @Test(arguments: [(nil, Continent.world), ("", .world), ("Atlantis", .world), ("Asia", .asia), ("North America", .northAmerica)])
    func unknownContinentsMeanWorld(text: String?, continent: Continent) {
        #expect(Continent(lenient: text) == continent)
    }
}
