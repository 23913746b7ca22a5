import Foundation
import Logging
import Shared

/// What `matchmaker doctor` asks the project's APIs (PostgREST, Realtime) before a switch-over.
/// Every call is harmless: reads of nothing, a send to a queue that does not exist, one broadcast to
/// a probe topic. The verdicts are `Diagnosis`'s.
struct SupabaseProbe {
    /// Our migrations that add functions, oldest first, each with a call that changes nothing.
    static let migrationProbes: [(migration: String, function: String, arguments: @Sendable (_ queue: String) -> [String: JSONValue])] = [
        ("20260701000003_stranger_rooms", "ack_stranger_match", { _ in ["room_id": "doctor000000000000000000"] }),
        (
            "20260701000004_release_stranger_messages", "release_stranger_messages",
            { queue in ["queue_name": .string(queue), "msg_ids": [], "leased_until": "1970-01-01T00:00:00Z"] }
        ),
        ("20260701000005_claim_stranger_matches", "claim_stranger_matches", { _ in ["claim_seconds": 0, "max_rows": 0] }),
        ("20260701000006_commit_stranger_matches", "ack_stranger_matches", { _ in ["room_ids": []] }),
        ("20260701000008_bot_registry", "idle_bots", { _ in ["max_rows": 0] }),
    ]

    let url: String
    let serviceKey: String
    /// The project's service key, sent as the matchmaker sends it.
    let service: any HTTPTransport
    /// The anon key, sent as the app server and browsers send it.
    let anon: (any HTTPTransport)?
    let queue: String
    /// The Realtime client of the join check (running while the probe runs).
    let realtime: RealtimeClient

    /// Every check, in order.
    func checks() async -> [DoctorCheck] {
        var checks = [Diagnosis.serviceKey(APIKeyKind(serviceKey))]
        let read = await call("read", schema: "pgmq_public", ["queue_name": .string(queue), "sleep_seconds": 0, "n": 0], on: service)
        checks.append(Diagnosis.connection(read, url: url))
        if case .unreachable = read { return checks }
        checks.append(Diagnosis.queue(read, name: queue))
        var migrations: [(migration: String, function: String, present: Bool)] = []
        for probe in Self.migrationProbes {
            let answer = await call(probe.function, schema: "public", probe.arguments(queue), on: service)
            migrations.append((probe.migration, probe.function, answer.succeeded))
        }
        checks.append(Diagnosis.migrations(migrations, scope: "supabase"))
        let probeQueue = "matchmaker-doctor-probe"
        let anonSend = await anon.asyncMap {
            await call("send", schema: "pgmq_public", ["queue_name": .string(probeQueue), "message": [:]], on: $0)
        }
        checks.append(Diagnosis.anonEnqueue(anonSend))
        let anonRead = await anon.asyncMap {
            await call("read", schema: "pgmq_public", ["queue_name": .string(queue), "sleep_seconds": 0, "n": 0], on: $0)
        }
        checks.append(Diagnosis.anonRead(anonRead, queue: queue))
        let outbox = await anon.asyncMap { await get("/rest/v1/matchmaker_outbox?select=room_id&limit=1", on: $0) }
        checks.append(Diagnosis.anonOutbox(outbox))
        let columns = "id,email,email_verified,created_at,updated_at,is_bot,is_anonymous,bot_profile,last_active"
        checks.append(Diagnosis.botRows(await get("/rest/v1/user?select=\(columns)&is_bot=is.true", on: service)))
        checks.append(Diagnosis.realtimeJoin(error: await joinLobby()))
        let message: JSONValue = ["topic": "matchmaker:doctor", "event": "doctor", "payload": [:], "private": false]
        checks.append(
            Diagnosis.broadcast(
                await send(UpstreamRequest(method: "POST", path: "/realtime/v1/api/broadcast", body: ["messages": [message]]), on: service))
        )
        return checks
    }

    /// Joins `global:lobby` as the matchmaker does (presence on, never tracked) and leaves; nil when it worked.
    private func joinLobby() async -> String? {
        switch await RealtimePresenceSource(client: realtime, keepJoined: false).snapshot() {
        case .available: nil
        case .unavailable(let reason): reason
        }
    }

    private func call(_ function: String, schema: String, _ arguments: [String: JSONValue], on transport: any HTTPTransport) async
        -> ProbeAnswer
    {
        await send(
            UpstreamRequest(
                method: "POST", path: "/rest/v1/rpc/\(function)", headers: ["content-profile": schema], body: .object(arguments)),
            on: transport)
    }

    private func get(_ path: String, on transport: any HTTPTransport) async -> ProbeAnswer {
        await send(UpstreamRequest(method: "GET", path: path), on: transport)
    }

    private func send(_ request: UpstreamRequest, on transport: any HTTPTransport) async -> ProbeAnswer {
        do {
            let response = try await transport.send(request)
            let body = try? JSONValue(parsing: Data(response.body.utf8))
            return .answered(status: response.status, code: body?["code"]?.stringValue, body: body)
        } catch {
            return .unreachable(reason: "\(error)")
        }
    }
}

extension Optional {
    /// `map` for an async transform.
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async -> T) async -> T? {
        guard let self else { return nil }
        return await transform(self)
    }
}
