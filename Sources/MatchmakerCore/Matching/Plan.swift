import Foundation
import Shared

/// A queued user as the planner sees it: all of the user's leased messages collapsed into one.
public struct Candidate: Sendable, Hashable {
    /// The user id from the message.
    public var userID: String
    /// The chosen continent of the user's earliest message.
    public var continent: Continent
    /// The earliest message: it fixes the user's FIFO position.
    public var msgID: Int64
    /// When the earliest message was sent: how long the user has waited.
    public var firstEnqueuedAt: Date
    /// When the newest message was sent: how recently the user asked.
    public var lastEnqueuedAt: Date
    /// The user's other messages in this lease (skip flows enqueue twice).
    public var duplicateMsgIDs: [Int64]
    /// Whether the user is a bot.
    public var isBot: Bool
    /// A bot from the registry (`idle_bots`), not from the queue: it has no message, and the commit claims it.
    public var isRegistered = false

    /// Every message of this user in the lease (none for a registered bot).
    public var allMsgIDs: [Int64] { isRegistered ? [] : [msgID] + duplicateMsgIDs }

    /// The registered bot `botID` as a candidate: no message, behind every queued user in FIFO order.
    static func registered(_ botID: String, now: Date) -> Candidate {
        Candidate(
            userID: botID, continent: .world, msgID: .max, firstEnqueuedAt: now, lastEnqueuedAt: now, duplicateMsgIDs: [], isBot: true,
            isRegistered: true)
    }
}

/// Two users to put in one room. `first` has the earlier message and owns the room.
public struct Pairing: Sendable, Hashable {
    /// How a pairing came about.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// Two humans.
        case humans
        /// A human who waited `BOT_FILL_AFTER` and a waiting bot.
        case botFill
    }

    /// user1: the earlier message.
    public var first: Candidate
    /// user2.
    public var second: Candidate
    /// Humans or a bot fill.
    public var kind: Kind

    init(_ a: Candidate, _ b: Candidate, kind: Kind) {
        (first, second) = a.msgID < b.msgID ? (a, b) : (b, a)
        self.kind = kind
    }
}

/// A message removed from the queue without a match.
public struct Drop: Sendable, Hashable {
    /// Why.
    public enum Reason: Sendable, Hashable {
        /// Not waiting in the lobby and the newest message is older than `STALE_AFTER`: deleted silently.
        case stale
        /// Not `{"userId": <non-empty string>, "continent"?: <string>}`: archived, never matched.
        case malformed(String)
    }

    /// The user, when the message named one.
    public var userID: String?
    /// The messages dropped.
    public var msgIDs: [Int64]
    /// Why.
    public var reason: Reason

    /// Creates a drop.
    public init(userID: String?, msgIDs: [Int64], reason: Reason) {
        self.userID = userID
        self.msgIDs = msgIDs
        self.reason = reason
    }
}

/// What a pass should do, decided without any I/O.
public struct Plan: Sendable, Hashable {
    /// Rooms to create, in order.
    public var pairs: [Pairing] = []
    /// Users whose wait passed `QUEUE_TTL`: tell them `stranger_no_matches`, then delete their messages.
    public var expired: [Candidate] = []
    /// Messages to delete (stale) or archive (malformed).
    public var drops: [Drop] = []
    /// Users left queued: their lease ends and a later pass sees them again.
    public var kept: [Candidate] = []
    /// True when presence was unavailable and the pass ran without it.
    public var degraded = false
    /// Messages leased.
    public var messageCount = 0
    /// The earliest moment a kept human, waiting in the lobby, becomes eligible for a bot (`BOT_FILL_AFTER` after
    /// their first message); `nil` when no kept human is still short of it. A pass at that moment may fill them.
    public var botFillDueAt: Date?
    /// Humans eligible for a bot who found none: the pass then asks the registry for idle bots and plans again.
    public var botFillWanted = 0

    /// Users who were leased but not paired (kept, expired or stale), as the original counted them.
    public var unpairedUserCount: Int {
        kept.count + expired.count + drops.filter { $0.reason == .stale }.count
    }
}
