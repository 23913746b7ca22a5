import Foundation
import Shared
import Synchronization

/// Runs passes one at a time in this process: a caller that arrives during a pass waits, then runs its own.
///
/// This only keeps one process tidy; separate processes are kept apart by leases, never by this lock.
public actor PassRunner {
    private let pass: MatchPass
    /// Totals and the last outcome, for `/stats`.
    public nonisolated let stats: StatsBook
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private let waitingCallers = Mutex(0)

    /// Creates a runner for `pass`.
    public init(pass: MatchPass, stats: StatsBook = StatsBook()) {
        self.pass = pass
        self.stats = stats
    }

    /// Callers parked behind a running pass, waiting for their turn.
    public nonisolated var waiting: Int { waitingCallers.withLock { $0 } }

    /// Waits for any running pass, then runs one.
    public func run() async throws -> PassReport {
        await acquire()
        defer { release() }
        do {
            let report = try await pass.run()
            stats.record(report)
            return report
        } catch {
            stats.recordFailure(error)
            throw error
        }
    }

    private func acquire() async {
        if !busy {
            busy = true
            return
        }
        waitingCallers.withLock { $0 += 1 }
        await withCheckedContinuation { waiters.append($0) }
        waitingCallers.withLock { $0 -= 1 }
    }

    private func release() {
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
