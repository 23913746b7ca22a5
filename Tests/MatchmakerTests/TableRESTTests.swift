import EmbeddedSupabase
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import MatchmakerCore
import Shared
import Testing

/// The table calls the bots and the `supabase` backend make, against the embedded `/rest/v1/<table>`.
@Suite struct TableRESTTests {
    static let prefer = HTTPField.Name("Prefer")!

    func headers(prefer: String? = nil) -> HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let prefer { headers[Self.prefer] = prefer }
        return headers
    }

    let bot = #"""
        {"id":"bot-1","name":"Mia","email":"bot-mia-1@bot.internal","email_verified":false,"created_at":"2026-11-29T12:00:00",
         "updated_at":"2026-11-29T12:00:00","is_bot":true,"is_anonymous":true,"bot_profile":"{}"}
        """#

    /// The app's `user` table has no default for `email_verified`, `created_at` and `updated_at`, and a unique email:
    /// the embedded table refuses what PostgreSQL would.
    @Test func theUserTableRefusesRowsTheAppsTableRefuses() async throws {
        try await AppHarness().app.test(.router) { client in
            // The bot row this service wrote before issue 10: no `email_verified`, no `created_at`.
            let old = #"{"id":"bot-x","name":"Mia","email":"bot-x@bot.internal","is_bot":true,"updated_at":"2026-11-29T12:00:00"}"#
            let refused = try await client.execute(uri: "/rest/v1/user", method: .post, headers: headers(), body: jsonBody(old))
            #expect(refused.status == .badRequest)
            #expect(refused.json?["code"] == "23502")
            #expect(refused.json?["message"] == #"null value in column "email_verified" of relation "user" violates not-null constraint"#)

            let noCreatedAt = old.replacingOccurrences(of: #""is_bot":true"#, with: #""is_bot":true,"email_verified":true"#)
            let second = try await client.execute(uri: "/rest/v1/user", method: .post, headers: headers(), body: jsonBody(noCreatedAt))
            #expect(second.json?["code"] == "23502")
            #expect(second.json?["message"] == #"null value in column "created_at" of relation "user" violates not-null constraint"#)

            _ = try await client.execute(uri: "/rest/v1/user", method: .post, headers: headers(), body: jsonBody(bot))
            let sameEmail = bot.replacingOccurrences(of: #""id":"bot-1""#, with: #""id":"bot-2""#)
            let clash = try await client.execute(
                uri: "/rest/v1/user?on_conflict=id", method: .post, headers: headers(prefer: "resolution=ignore-duplicates"),
                body: jsonBody(sameEmail))
            #expect(clash.status == .conflict)
            #expect(clash.json?["code"] == "23505")
            #expect(clash.json?["message"] == #"duplicate key value violates unique constraint "user_email_unique""#)
        }
    }

    @Test func userUpsertMergesDuplicatesAndAPlainDuplicateIs23505() async throws {
        try await AppHarness().app.test(.router) { client in
            let first = try await client.execute(
                uri: "/rest/v1/user?on_conflict=id", method: .post,
                headers: headers(prefer: "resolution=merge-duplicates,return=representation"), body: jsonBody(bot))
            #expect(first.status == .created)
            let row = try #require(first.json?.arrayValue?.first)
            #expect(row["email_verified"] == false)
            #expect(row["last_active"] == .null)
            #expect(row["created_at"]?.stringValue?.hasSuffix("+00:00") == false)

            var upsert = headers(prefer: "resolution=merge-duplicates")
            upsert.append(HTTPField(name: Self.prefer, value: "return=representation"))
            let renamed = bot.replacingOccurrences(of: "Mia", with: "Noa")
            let second = try await client.execute(
                uri: "/rest/v1/user?on_conflict=id", method: .post, headers: upsert, body: jsonBody(renamed))
            #expect(second.status == .created)
            #expect(second.json?.arrayValue?.first?["name"] == "Noa")
            #expect(second.json?.arrayValue?.first?["created_at"] == row["created_at"])

            let plain = try await client.execute(uri: "/rest/v1/user", method: .post, headers: headers(), body: jsonBody(bot))
            #expect(plain.status == .conflict)
            #expect(plain.json?["code"] == "23505")
            #expect(plain.json?["message"] == #"duplicate key value violates unique constraint "user_pkey""#)
        }
    }

    /// A PATCH checks the rows it changes against the table's unique keys: taking another row's email is 23505
    /// and changes nothing; a PATCH among many rows that clashes with none goes through.
    @Test func aPatchThatTakesAnotherRowsEmailIs23505AndChangesNothing() async throws {
        try await AppHarness().app.test(.router) { client in
            _ = try await client.execute(uri: "/rest/v1/user", method: .post, headers: headers(), body: jsonBody(bot))
            for number in 2...5 {
                let other = bot.replacingOccurrences(of: #""id":"bot-1""#, with: #""id":"bot-\#(number)""#)
                    .replacingOccurrences(of: "bot-mia-1@", with: "bot-mia-\(number)@")
                _ = try await client.execute(uri: "/rest/v1/user", method: .post, headers: headers(), body: jsonBody(other))
            }
            let taken = try await client.execute(
                uri: "/rest/v1/user?id=eq.bot-3", method: .patch, headers: headers(), body: jsonBody(#"{"email":"bot-mia-1@bot.internal"}"#)
            )
            #expect(taken.status == .conflict)
            #expect(taken.json?["code"] == "23505")
            #expect(taken.json?["message"] == #"duplicate key value violates unique constraint "user_email_unique""#)

            let touched = try await client.execute(
                uri: "/rest/v1/user?id=eq.bot-3", method: .patch, headers: headers(),
                body: jsonBody(#"{"last_active":"2026-12-03T07:00:00"}"#))
            #expect(touched.status == .noContent)
            let rows = try await client.execute(uri: "/rest/v1/user?id=eq.bot-3", method: .get, headers: headers())
            #expect(rows.json?.arrayValue?.first?["email"] == "bot-mia-3@bot.internal")
            #expect(rows.json?.arrayValue?.first?["last_active"]?.stringValue?.hasPrefix("2026-12-03T07:00:00") == true)
        }
    }

    @Test func insertsAreEmpty201sUnlessRepresentationIsPreferred() async throws {
        let harness = AppHarness()
        // What the message and the analytics reference: their users and their room.
        try harness.pass.backend.store.addUsers(["bot-1", "alice"])
        _ = try harness.pass.backend.store.createStrangerRoom(id: "r1", user1: "alice", user2: "bot-1")
        try await harness.app.test(.router) { client in
            let message = #"{"id":"m1","room_id":"r1","sender_id":"bot-1","content":"hi"}"#
            let minimal = try await client.execute(uri: "/rest/v1/message", method: .post, headers: headers(), body: jsonBody(message))
            #expect(minimal.status == .created)
            #expect(minimal.body.readableBytes == 0)

            let analytics = #"""
                [{"id":"a1","bot_id":"bot-1","conversation_id":"r1","messages_exchanged":4,"conversation_duration":31,
                  "human_skipped":false,"bot_skipped":true}]
                """#
            let full = try await client.execute(
                uri: "/rest/v1/bot_analytics?select=id,messages_exchanged", method: .post,
                headers: headers(prefer: "return=representation"),
                body: jsonBody(analytics))
            #expect(full.status == .created)
            #expect(full.json == [["id": "a1", "messages_exchanged": 4]])

            let listed = try await client.execute(uri: "/rest/v1/message?select=id,content,created_at", method: .get)
            #expect(listed.json?.arrayValue?.first?["created_at"] == .string(Timestamp.format(harness.pass.now)))
        }
    }

    @Test func patchUpdatesLastActiveAndDeleteCascadesToMembers() async throws {
        let harness = AppHarness()
        try await harness.app.test(.router) { client in
            _ = try await client.execute(uri: "/rest/v1/user", method: .post, headers: headers(), body: jsonBody(bot))
            let patch = try await client.execute(
                uri: "/rest/v1/user?id=eq.bot-1", method: .patch, headers: headers(),
                body: jsonBody(#"{"last_active":"2026-11-29T12:00:00.5Z"}"#))
            #expect(patch.status == .noContent)
            let user = try await client.execute(uri: "/rest/v1/user?select=id,last_active&id=eq.bot-1", method: .get)
            #expect(user.json == [["id": "bot-1", "last_active": "2026-11-29T12:00:00.500000"]])

            let none = try await client.execute(
                uri: "/rest/v1/user?id=eq.nobody", method: .patch, headers: headers(prefer: "return=representation"),
                body: jsonBody(#"{"last_active":"2026-11-29T12:00:00Z"}"#))
            #expect(none.status == .ok)
            #expect(none.json == [])

            _ = try await client.execute(
                uri: "/rest/v1/rpc/create_stranger_room", method: .post, headers: headers(),
                body: jsonBody(#"{"room_id":"r1","user1":"a","user2":"b"}"#))
            let delete = try await client.execute(uri: "/rest/v1/room?id=eq.r1", method: .delete, headers: headers())
            #expect(delete.status == .noContent)
            let members = try await client.execute(uri: "/rest/v1/room_member?room_id=eq.r1", method: .get)
            #expect(members.json == [])
        }
        #expect(harness.pass.backend.store.contents.rooms.isEmpty)
    }

    @Test func theSkipLedgerAndBotLookupsOfAPassWork() async throws {
        let harness = AppHarness()
        let now = harness.pass.now
        try harness.pass.backend.store.addUsers(["alice", "bob", "carol", "dave", "erin"])
        try harness.pass.backend.store.addSkip("alice", "bob", at: now.addingTimeInterval(-5))
        try harness.pass.backend.store.addSkip("carol", "dave", at: now.addingTimeInterval(-5))
        try harness.pass.backend.store.addSkip("alice", "erin", at: now.addingTimeInterval(-60))
        harness.pass.backend.store.addBot("bot,1")
        harness.pass.backend.store.addBot("bot-2")
        try await harness.app.test(.router) { client in
            let since = Timestamp.format(now.addingTimeInterval(-10)).replacingOccurrences(of: "+", with: "%2B")
            let skips = try await client.execute(
                uri: "/rest/v1/skipped_pair?select=*&created_at=gte.\(since)&or=(user_a_id.in.(alice,zed),user_b_id.in.(alice,zed))"
                    + "&order=user_a_id.desc",
                method: .get)
            #expect(skips.status == .ok)
            #expect(skips.json?.arrayValue?.map { [$0["user_a_id"], $0["user_b_id"]] } == [["bob", "alice"], ["alice", "bob"]])

            let bots = try await client.execute(
                uri: "/rest/v1/user?select=id&is_bot=is.true&id=in.(%22bot,1%22,bot-3,alice)", method: .get)
            #expect(bots.json == [["id": "bot,1"]])

            let page = try await client.execute(
                uri: "/rest/v1/skipped_pair?select=user_a_id&order=user_a_id.asc&limit=2&offset=1", method: .get)
            #expect(page.json == [["user_a_id": "alice"], ["user_a_id": "bob"]])
        }
    }

    @Test func aSkipWrittenOverRESTKeepsAPairApartInThePass() async throws {
        let harness = AppHarness()
        for user in ["alice", "bob"] { try harness.pass.enqueue(user) }
        try await harness.app.test(.router) { client in
            let skip = try await client.execute(
                uri: "/rest/v1/skipped_pair", method: .post, headers: headers(),
                body: jsonBody(#"[{"user_a_id":"alice","user_b_id":"bob"}]"#))
            #expect(skip.status == .created)
            let pass = try await client.execute(uri: "/functions/v1/stranger-matchmaker", method: .post)
            #expect(pass.json?["stats"]?["pairedRooms"] == 0)
        }
    }

    @Test(arguments: [
        ("GET", "/rest/v1/nope", "", 404, "PGRST205"),
        ("POST", "/rest/v1/user", #"{"id":"x","name":"x","email":"x","shoe_size":4}"#, 400, "PGRST204"),
        ("POST", "/rest/v1/user", #"{"id":"x","email":"x"}"#, 400, "23502"),
        ("POST", "/rest/v1/bot_analytics", #"{"id":"a","messages_exchanged":"many"}"#, 400, "22P02"),
        // Issue 16: integers are read exactly, and one beyond `integer` is PostgreSQL's out-of-range error.
        ("POST", "/rest/v1/bot_analytics", #"{"id":"a","messages_exchanged":2147483648}"#, 400, "22003"),
        ("POST", "/rest/v1/bot_analytics", #"{"id":"a","messages_exchanged":1.5}"#, 400, "22P02"),
        ("POST", "/rest/v1/user", #"{"id":"x""#, 400, "PGRST102"),
        ("GET", "/rest/v1/user?id=like.x", "", 400, "PGRST100"),
        ("GET", "/rest/v1/user?or=(id.eq.x", "", 400, "PGRST100"),
        ("GET", "/rest/v1/user?is_bot=is.maybe", "", 400, "PGRST100"),
        ("GET", "/rest/v1/user?shoe_size=eq.4", "", 400, "42703"),
        ("GET", "/rest/v1/user?select=id,shoe_size", "", 400, "42703"),
        ("PATCH", "/rest/v1/user?id=eq.x", #"{"shoe_size":4}"#, 400, "PGRST204"),
        ("DELETE", "/rest/v1/nope?id=eq.x", "", 404, "PGRST205"),
    ])
    func badTableCallsGetPostgrestErrors(method: String, uri: String, body: String, status: Int, code: String) async throws {
        try await AppHarness().app.test(.router) { client in
            let response = try await client.execute(
                uri: uri, method: HTTPRequest.Method(method)!, headers: headers(), body: body.isEmpty ? nil : jsonBody(body))
            #expect(response.status.code == status)
            #expect(response.json?["code"]?.stringValue == code)
            #expect(Set(response.json?.objectKeys ?? []) == ["code", "message", "details", "hint"])
        }
    }

    /// Issue 16: a filter value is read as the column's type exactly: the largest `integer` matches itself, a bigint
    /// beyond it is 22003 and a fraction 22P02, as PostgreSQL answers (never a value rounded through `Double`).
    @Test func integerFiltersAreExact() async throws {
        let harness = AppHarness()
        try harness.pass.backend.store.addUsers(["b"])
        try await harness.app.test(.router) { client in
            // The analytics row's bot and room exist first (foreign keys).
            let room = try await client.execute(
                uri: "/rest/v1/room", method: .post, headers: headers(), body: jsonBody(#"{"id":"r","name":"r","owner_id":"b"}"#))
            #expect(room.status == .created)
            let row = #"{"id":"a1","bot_id":"b","conversation_id":"r","messages_exchanged":2147483647,"conversation_duration":1,"#
            let created = try await client.execute(
                uri: "/rest/v1/bot_analytics", method: .post, headers: headers(),
                body: jsonBody(row + #""human_skipped":false,"bot_skipped":false}"#))
            #expect(created.status == .created)
            let found = try await client.execute(uri: "/rest/v1/bot_analytics?select=id&messages_exchanged=eq.2147483647", method: .get)
            #expect(found.json == [["id": "a1"]])
            let big = try await client.execute(uri: "/rest/v1/bot_analytics?messages_exchanged=eq.9223372036854775807", method: .get)
            #expect(big.status == .badRequest)
            #expect(big.json?["code"] == "22003")
            #expect(big.json?["message"] == #"value "9223372036854775807" is out of range for type integer"#)
            let fraction = try await client.execute(uri: "/rest/v1/bot_analytics?messages_exchanged=gt.1.5", method: .get)
            #expect(fraction.json?["code"] == "22P02")
        }
    }

    /// Issue 16, found by the fuzzer: a timestamp filter whose year the date formatter wraps (`99999999`
    /// came back in 5.8 million BC) trapped formatting it and killed the process on a table with a row.
    @Test func aTimestampFilterBeyondEveryClockIs22007NotACrash() async throws {
        try await AppHarness().app.test(.live) { client in
            let active = bot.replacingOccurrences(of: #""is_bot":true"#, with: #""is_bot":true,"last_active":"2026-11-29T12:00:00""#)
            let created = try await client.execute(uri: "/rest/v1/user", method: .post, headers: headers(), body: jsonBody(active))
            #expect(created.status == .created)
            let response = try await client.execute(uri: "/rest/v1/user?last_active=gt.99999999-12-03T00:00:00Z", method: .get)
            #expect(response.status == .badRequest)
            #expect(response.json?["code"] == "22007")
            #expect(try await client.execute(uri: "/rest/v1/user?select=id", method: .get).json == [["id": "bot-1"]])
        }
    }

    /// A nested `or=` filter, `depth` logic trees deep: `(or(or(…id.eq.bot-1…)))`.
    static func nestedFilter(depth: Int) -> String {
        "(" + String(repeating: "or(", count: depth - 1) + "id.eq.bot-1" + String(repeating: ")", count: depth)
    }

    /// Issue 16: a filter 14,000 levels deep (a 56 KB URL) took quadratic time to read and then overflowed the
    /// stack (SIGSEGV). Trees up to 32 deep are read; deeper ones are refused before any parsing.
    @Test func filtersNestedBeyondTheLimitAreRefusedAndTheLimitItselfWorks() async throws {
        try await AppHarness().app.test(.router) { client in
            _ = try await client.execute(uri: "/rest/v1/user", method: .post, headers: headers(), body: jsonBody(bot))
            let deepest = try await client.execute(
                uri: "/rest/v1/user?select=id&or=\(Self.nestedFilter(depth: 32))", method: .get, headers: headers())
            #expect(deepest.status == .ok)
            #expect(deepest.json == [["id": "bot-1"]])
            for depth in [33, 14_000] {
                let refused = try await client.execute(
                    uri: "/rest/v1/user?or=\(Self.nestedFilter(depth: depth))", method: .get, headers: headers())
                #expect(refused.status == .badRequest)
                #expect(refused.json?["code"] == "PGRST100")
                #expect(refused.json?["message"]?.stringValue?.contains("nested deeper than 32 levels") == true)
            }
            // Quoted parentheses are values, not nesting.
            let quoted = try await client.execute(
                uri: "/rest/v1/user?select=id&or=(id.eq.\"\(String(repeating: "(", count: 40))\",id.eq.bot-1)", method: .get,
                headers: headers())
            #expect(quoted.status == .ok)
            #expect(quoted.json == [["id": "bot-1"]])
        }
    }

    @Test func tablesNeedAValidTokenWhenKeysAreConfigured() async throws {
        var harness = AppHarness()
        harness.verifier = await JWTVerifier(secret: "test-secret-test-secret-test-secret")
        try await harness.app.test(.router) { client in
            let response = try await client.execute(uri: "/rest/v1/user", method: .get)
            #expect(response.status == .unauthorized)
            #expect(response.json?["code"] == "PGRST301")
        }
    }

    @Test func aSingleObjectIsServedOnlyForExactlyOneRow() async throws {
        try await AppHarness().app.test(.router) { client in
            _ = try await client.execute(uri: "/rest/v1/user", method: .post, headers: headers(), body: jsonBody(bot))
            let accept: HTTPFields = [.accept: "application/vnd.pgrst.object+json"]
            let one = try await client.execute(uri: "/rest/v1/user?select=id&id=eq.bot-1", method: .get, headers: accept)
            #expect(one.json == ["id": "bot-1"])
            let none = try await client.execute(uri: "/rest/v1/user?id=eq.nobody", method: .get, headers: accept)
            #expect(none.status == .notAcceptable)
            #expect(none.json?["code"] == "PGRST116")
        }
    }
}
