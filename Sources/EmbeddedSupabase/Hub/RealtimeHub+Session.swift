import Foundation
import Logging
import NIOCore
import NIOWebSocket
import Shared
import WSCore

extension RealtimeHub {
    /// Serves one upgraded socket until it closes, goes idle, or the hub drops it.
    func serve(
        inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, version: ProtocolVersion, time: Timekeeper, logger: Logger
    ) async throws {
        let outbox = HubOutbox(limit: settings.maxOutboundBytes)
        let id = connect(version: version, outbox: outbox, now: time.now())
        defer { disconnect(id) }
        logger.debug("Realtime hub socket open", metadata: ["realtime.connection": "\(id)", "realtime.vsn": "\(version.rawValue)"])
        let idleTimeout = settings.idleTimeout
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await frame in outbox.frames {
                    switch frame {
                    case .text(let text): try await outbound.write(.text(text))
                    case .binary(let bytes): try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                    case .close(let reason):
                        try await outbound.close(.normalClosure, reason: reason)
                        return
                    }
                    outbox.written(frame)
                }
            }
            group.addTask {
                // A client that stopped reading: its socket is closed (the writer may be stuck in a write, so the
                // session ends rather than queueing a close frame behind the backlog).
                for await wanted in outbox.overflow {
                    logger.warning(
                        "Realtime hub disconnects a slow consumer",
                        metadata: [
                            "realtime.connection": "\(id)", "realtime.queued_bytes": "\(wanted)",
                            "realtime.limit_bytes": "\(self.settings.maxOutboundBytes)",
                        ])
                    self.observeSlowConsumer(id, queuedBytes: wanted)
                    return
                }
                // The stream ends without an overflow only when the session is cancelled.
            }
            group.addTask {
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    switch message {
                    case .text(let text): self.receive(text: text, from: id, now: time.now())
                    case .binary(let buffer): self.receive(binary: Array(buffer.readableBytesView), from: id, now: time.now())
                    }
                }
            }
            group.addTask {
                while true {
                    let idle = time.now().timeIntervalSince(self.lastSeen(id) ?? time.now())
                    if idle >= idleTimeout.seconds {
                        logger.debug("Realtime hub closes an idle socket", metadata: ["realtime.connection": "\(id)"])
                        try await outbound.close(.normalClosure, reason: "idle timeout")
                        return
                    }
                    try await time.sleep(.seconds(double: max(idleTimeout.seconds - idle, 0.01)))
                }
            }
            _ = try await group.next()
            group.cancelAll()
        }
    }
}
