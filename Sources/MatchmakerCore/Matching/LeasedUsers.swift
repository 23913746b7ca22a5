import Shared

/// The leased messages, parsed once per pass (contract §3, rules 1 and 2): every message that names a
/// user joins that user's one candidate, placed by the earliest message (FIFO by `msg_id`), and every
/// message that is not a `QueuedUser` is set aside as malformed.
///
/// The pass looks up skips and bots for `userIDs`, then hands the same value to the `Planner`.
public struct LeasedUsers: Sendable {
    /// One candidate per user, in FIFO order; `isBot` is not known yet.
    public private(set) var candidates: [Candidate] = []
    /// The malformed messages, one drop each, in `msg_id` order.
    public private(set) var malformed: [Drop] = []
    /// How many messages were leased.
    public let messageCount: Int
    /// Each user's position in `candidates`.
    private(set) var numbers: [String: Int] = [:]

    /// Parses and collapses `rows`, given in any order.
    public init(rows: [QueueRow]) {
        messageCount = rows.count
        candidates.reserveCapacity(rows.count)
        numbers.reserveCapacity(rows.count)
        // Sorting positions rather than rows moves (and retains) no message bodies.
        for position in rows.indices.sorted(by: { rows[$0].msgID < rows[$1].msgID }) {
            let msgID = rows[position].msgID
            let enqueuedAt = rows[position].enqueuedAt
            switch QueuedUser.parse(rows[position].message) {
            case .failure(let problem):
                malformed.append(Drop(userID: nil, msgIDs: [msgID], reason: .malformed(problem.reason)))
            case .success(let user):
                // One hash for the common case (a new user); a duplicate restores its first number.
                if let number = numbers.updateValue(candidates.count, forKey: user.userID) {
                    numbers[user.userID] = number
                    candidates[number].duplicateMsgIDs.append(msgID)
                    candidates[number].lastEnqueuedAt = max(candidates[number].lastEnqueuedAt, enqueuedAt)
                    continue
                }
                candidates.append(
                    Candidate(
                        userID: user.userID, continent: user.continent, msgID: msgID, firstEnqueuedAt: enqueuedAt,
                        lastEnqueuedAt: enqueuedAt, duplicateMsgIDs: [], isBot: false
                    )
                )
            }
        }
    }

    /// The leased users' ids, sorted: what the skip and bot lookups ask about.
    public var userIDs: [String] { candidates.map(\.userID).sorted() }
}
