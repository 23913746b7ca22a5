import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A plain TCP connection to 127.0.0.1, for bytes an HTTP client library would never send (a bad method, a
/// 100 KB URL, headers one line at a time). Its blocking calls run on a serial Dispatch queue of its own
/// (an overcommitting thread: neither Swift's cooperative pool nor the width-limited global queue, whose
/// threads the servers and clients of other tests need).
public final class RawConnection: Sendable {
    /// A socket call that failed.
    public struct Failure: Error, CustomStringConvertible {
        /// The call.
        public var step: String
        /// `errno` after it.
        public var code: Int32
        public var description: String { "\(step) failed: \(String(cString: strerror(code)))" }
    }

    /// What reading gave: the bytes, and whether the server ended the connection (EOF or reset) or the read
    /// timed out first.
    public struct Reading: Sendable {
        /// The bytes received.
        public var bytes: [UInt8]
        /// The server closed the connection.
        public var ended: Bool
        /// The bytes as text.
        public var text: String { String(decoding: bytes, as: UTF8.self) }
        /// The status line's code, when a response arrived.
        public var status: Int? {
            guard text.hasPrefix("HTTP/1.1 ") else { return nil }
            return Int(text.dropFirst(9).prefix(3))
        }
    }

    private let socket: Int32
    private let queue = DispatchQueue(label: "RawConnection")
    private let closed = Mutex(false)

    private init(socket: Int32) {
        self.socket = socket
    }

    /// Connects to 127.0.0.1:`port`; reads give up after `readTimeout` seconds without data.
    public static func open(port: Int, readTimeout: Int = 30) async throws -> RawConnection {
        try await offPool(on: DispatchQueue(label: "RawConnection.open")) {
            #if canImport(Glibc)
                let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #else
                let fd = Darwin.socket(AF_INET, SOCK_STREAM, 0)
            #endif
            guard fd >= 0 else { throw Failure(step: "socket", code: errno) }
            var timeout = timeval(tv_sec: readTimeout, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                let code = errno
                Self.closeDescriptor(fd)
                throw Failure(step: "connect", code: code)
            }
            return RawConnection(socket: fd)
        }
    }

    /// Sends `text` in full.
    public func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    /// Sends `bytes` in full.
    public func send(_ bytes: [UInt8]) async throws {
        let socket = socket
        try await Self.offPool(on: queue) {
            var sent = 0
            while sent < bytes.count {
                let count = bytes[sent...].withUnsafeBytes { write(socket, $0.baseAddress, $0.count) }
                guard count > 0 else { throw Failure(step: "write", code: errno) }
                sent += count
            }
        }
    }

    /// Reads one response: its head and `Content-Length` bytes of body (or until the connection ends).
    public func readResponse() async throws -> Reading {
        try await read { received in
            let text = String(decoding: received, as: UTF8.self)
            guard let end = text.range(of: "\r\n\r\n") else { return false }
            let head = text[..<end.lowerBound].lowercased()
            let length =
                head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            return text.utf8.count - text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound) >= length
        }
    }

    /// Reads until the server ends the connection, or a read times out (`ended` false).
    public func readToEnd() async throws -> Reading {
        try await read { _ in false }
    }

    /// Sends `lines` one at a time, `interval` apart, until the server ends the connection; returns what it
    /// sent back then, or nil when every line went out and the connection is still open.
    public func dribble(_ lines: [String], interval: Duration) async throws -> Reading? {
        for line in lines {
            try await Task.sleep(for: interval)
            let reading = try await peek()
            if reading.ended { return reading }
            do {
                try await send(line)
            } catch is Failure {
                return Reading(bytes: reading.bytes, ended: true)
            }
        }
        return nil
    }

    /// What has arrived without waiting, and whether the connection has ended.
    private func peek() async throws -> Reading {
        let socket = socket
        return try await Self.offPool(on: queue) {
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let count = recv(socket, &buffer, buffer.count, Int32(MSG_DONTWAIT))
                if count > 0 {
                    received += buffer[0..<count]
                    continue
                }
                let code = errno
                if count < 0, code == EAGAIN || code == EWOULDBLOCK { return Reading(bytes: received, ended: false) }
                return Reading(bytes: received, ended: true)
            }
        }
    }

    private func read(until complete: @escaping @Sendable ([UInt8]) -> Bool) async throws -> Reading {
        let socket = socket
        return try await Self.offPool(on: queue) {
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while !complete(received) {
                let count = recv(socket, &buffer, buffer.count, 0)
                if count > 0 {
                    received += buffer[0..<count]
                    continue
                }
                let code = errno
                if count < 0, code == EAGAIN || code == EWOULDBLOCK { return Reading(bytes: received, ended: false) }
                guard count == 0 || code == ECONNRESET else { throw Failure(step: "read", code: code) }
                return Reading(bytes: received, ended: true)
            }
            return Reading(bytes: received, ended: false)
        }
    }

    /// Closes the connection; a second call does nothing (the descriptor's number may belong to another
    /// socket by then).
    public func close() {
        guard
            closed.withLock({ closed in
                defer { closed = true }; return !closed
            })
        else { return }
        _ = shutdown(socket, Int32(SHUT_RDWR))
        Self.closeDescriptor(socket)
    }

    private static func closeDescriptor(_ fd: Int32) {
        #if canImport(Glibc)
            _ = Glibc.close(fd)
        #else
            _ = Darwin.close(fd)
        #endif
    }

    private static func offPool<T: Sendable>(on queue: DispatchQueue, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { continuation.resume(with: Result { try work() }) }
        }
    }
}
