import Foundation
import Logging
import MatchmakerCore
import PostgresNIO
import Shared
import TestSupport
import Testing

/// The PostgreSQL that `scripts/with-postgres.sh` started, reached through `DATABASE_URL`.
enum TestDatabase {
    /// `DATABASE_URL`, when the tests run under the script.
    static let url = ProcessInfo.processInfo.environment["DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }

    /// The suites run when a database is configured, and always in CI, where a missing one must fail.
    static let shouldRun = url != nil || ProcessInfo.processInfo.environment["CI"] != nil

    /// The repository root, for the SQL files.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The tests' one logger (quiet unless `TEST_LOG` is set).
    static var logger: Logger { testLogger }

    /// `DATABASE_URL`, or a failure that says how to get one.
    static func requireURL() throws -> String {
        try #require(url, "DATABASE_URL is not set: run these tests through scripts/with-postgres.sh")
    }

    /// Runs `body` with a fresh client of its own pool (running for the duration of `body`).
    static func withClient<T: Sendable>(
        maximumConnections: Int = 4, _ body: (PostgresClient) async throws -> T
    ) async throws -> T {
        var configuration = try DatabaseURL(try requireURL()).configuration
        configuration.options.maximumConnections = maximumConnections
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// Runs a SQL file with `psql` (multi-statement files need the simple protocol), failing on the first error.
    static func applyFile(_ path: URL) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", try requireURL(), "-q", "-X", "-v", "ON_ERROR_STOP=1", "-f", path.path]
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = "/usr/lib/postgresql/15/bin:" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["PGOPTIONS"] = "-c client_min_messages=warning"
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            Issue.record("psql failed on \(path.lastPathComponent): \(String(decoding: output, as: UTF8.self))")
        }
    }

    /// Runs `script` with `psql` in one transaction that is rolled back, and returns its output rows
    /// (`label|value` with `-At`). For checks that change grants or roles: nothing outlives the script.
    static func rolledBack(_ script: String) throws -> [String] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString).sql")
        try Data("begin;\n\(script)\nrollback;\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["psql", try requireURL(), "-q", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-f", file.path]
        var environment = ProcessInfo.processInfo.environment
        environment["PATH"] = "/usr/lib/postgresql/15/bin:" + (environment["PATH"] ?? "/usr/bin:/bin")
        environment["PGOPTIONS"] = "-c client_min_messages=warning"
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let rows = output.fileHandleForReading.readDataToEndOfFile()
        let failure = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw TestSetupError(message: "psql failed: \(String(decoding: failure, as: UTF8.self))")
        }
        return String(decoding: rows, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// A probe for `rolledBack(_:)`: `probe.outcome(sql)` runs `sql` as the current role and returns `ok`, or
    /// the SQLSTATE it failed with (`42501` for permission denied). Executable by everyone.
    static let probe = """
        create schema probe;
        grant usage on schema probe to public;
        create function probe.outcome(statement text) returns text language plpgsql as $probe$
        begin
            execute statement;
            return 'ok';
        exception when others then
            return sqlstate;
        end
        $probe$;
        grant execute on function probe.outcome(text) to public;
        """

    /// Every migration, in order.
    static var migrations: [URL] {
        let folder = root.appendingPathComponent("deploy/supabase/migrations")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".sql") }.sorted().map { folder.appendingPathComponent($0) }
    }

    /// A prefix that keeps one test's users, rooms and queue apart from another's.
    static func uniquePrefix(_ name: String) -> String {
        "\(name)\(UInt32.random(in: 0...UInt32.max))"
    }
}

/// Creates users and queues for a test.
extension PostgresClient {
    /// Inserts users as the app does, with every column its `user` table requires (`bots` get `is_bot = true`).
    func createUsers(_ ids: [String], bots: Set<String> = []) async throws {
        let isBot = ids.map { bots.contains($0) }
        let emails = ids.map { "\($0)@test.invalid" }
        try await command(
            """
            insert into public."user" (id, name, email, email_verified, created_at, updated_at, is_bot, is_anonymous)
            select id, id, email, false, now(), now(), bot, true
            from unnest(\(ids)::text[], \(emails)::text[], \(isBot)::bool[]) as t (id, email, bot)
            on conflict (id) do nothing
            """,
            logger: TestDatabase.logger
        )
    }

    /// Signs in `<prefix>a` and `<prefix>b`, queues one message each on a new queue `<prefix>-q`, and returns the
    /// postgres backend over that queue with the two users and their messages' ids.
    func queuedPair(prefix: String) async throws -> (backend: PostgresBackend, a: String, b: String, msgIDs: [Int64]) {
        let (a, b) = ("\(prefix)a", "\(prefix)b")
        try await createUsers([a, b])
        try await createQueue("\(prefix)-q")
        let backend = PostgresBackend(client: self, queueName: "\(prefix)-q", logger: TestDatabase.logger)
        let ids = try await backend.queue.send([["userId": .string(a)], ["userId": .string(b)]])
        return (backend, a, b, ids)
    }

    /// Creates a pgmq queue with the per-user index the migrations put on `stranger-queue`.
    func createQueue(_ name: String) async throws {
        try await command("select pgmq.create(\(name))", logger: TestDatabase.logger)
        let table = "q_\(name.lowercased())"
        try await command(
            "create index if not exists \(unescaped: "\"\(table)_user_idx\"") on pgmq.\(unescaped: "\"\(table)\"") ((message ->> 'userId'))",
            logger: TestDatabase.logger
        )
    }

    /// Inserts a message into `queue` with a given age, as if sent `age` seconds ago.
    func enqueue(_ queue: String, body: String, age: Double) async throws -> Int64 {
        let table = "q_\(queue.lowercased())"
        let rows = try await query(
            """
            insert into pgmq.\(unescaped: "\"\(table)\"") (enqueued_at, vt, message)
            values (now() - make_interval(secs => \(age)), now(), \(body)::jsonb)
            returning msg_id
            """,
            logger: TestDatabase.logger
        )
        for try await id in rows.decode(Int64.self) { return id }
        throw TestSetupError(message: "insert returned no id")
    }

    /// A scalar count.
    func count(_ sql: PostgresQuery) async throws -> Int {
        for try await value in try await query(sql, logger: TestDatabase.logger).decode(Int64.self) { return Int(value) }
        return 0
    }
}

extension MatchCommit {
    /// The commit a pass with the default settings makes of `room` for `user1` and `user2`.
    init(_ room: Room, _ user1: String, _ user2: String, consuming msgIDs: [Int64]) {
        let settings = MatchPass.Settings()
        self.init(
            room: room, user1: user1, user2: user2, msgIDs: msgIDs, claimSeconds: settings.claimSeconds,
            skipWindowSeconds: settings.policy.skipWindowSeconds
        )
    }
}

/// A test's own setup failed.
struct TestSetupError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension PostgresClient {
    /// Runs a statement and reads its result to the end, so that a server error is thrown here.
    func command(_ query: PostgresQuery, logger: Logger) async throws {
        _ = try await self.query(query, logger: logger).collect()
    }
}

extension PostgresConnection {
    /// Runs a statement and reads its result to the end, so that a server error is thrown here.
    func command(_ query: PostgresQuery, logger: Logger) async throws {
        _ = try await self.query(query, logger: logger).collect()
    }
}
