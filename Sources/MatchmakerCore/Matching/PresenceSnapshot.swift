import Shared

/// Who is in the lobby (`global:lobby`), or why that is not known.
public enum PresenceSnapshot: Sendable, Hashable {
    /// The lobby's presence state: presence key (user id) → metas.
    case available([String: [JSONValue]])
    /// Presence could not be read (timeout, refused join, socket error): the pass runs degraded.
    case unavailable(reason: String)

    /// True when presence could not be read.
    public var isUnavailable: Bool {
        if case .unavailable = self { return true }
        return false
    }

    /// Whether `userID` is waiting in this snapshot (false when presence is unavailable).
    public func isWaiting(_ userID: String) -> Bool {
        guard case .available(let state) = self else { return false }
        return Self.isWaiting(state[userID] ?? [])
    }

    /// A user is waiting when any of its metas has `status == "waiting"` (contract §2).
    public static func isWaiting(_ metas: [JSONValue]) -> Bool { status(of: metas).isWaiting }

    /// Bots track `{user_id, status}`; humans track `{status}` only.
    public static func isBot(_ metas: [JSONValue]) -> Bool { status(of: metas).isBot }

    /// Both of the above in one walk over the metas' few fields, which costs less than hashing the keys.
    static func status(of metas: [JSONValue]) -> (isWaiting: Bool, isBot: Bool) {
        var isWaiting = false
        var isBot = false
        for case .object(let fields) in metas {
            for (key, value) in fields {
                switch key {
                case "status": isWaiting = isWaiting || value.stringValue == "waiting"
                case "user_id": isBot = true
                default: continue
                }
            }
        }
        return (isWaiting, isBot)
    }
}
