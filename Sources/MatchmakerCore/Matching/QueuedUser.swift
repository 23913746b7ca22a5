import Shared

/// The body of a `stranger-queue` message: `{"userId": "<id>", "continent": "<continent>"}`.
public struct QueuedUser: Sendable, Hashable {
    /// The user to match.
    public var userID: String
    /// The chosen continent; missing, empty or unknown means `World`.
    public var continent: Continent

    /// Why a message is not a `QueuedUser`.
    public struct Malformed: Error, Sendable, Hashable {
        /// A short explanation for logs and the report.
        public var reason: String
    }

    /// Parses a message body.
    public static func parse(_ message: JSONValue) -> Result<QueuedUser, Malformed> {
        guard case .object(let fields) = message else {
            return .failure(Malformed(reason: "message is a JSON \(message.typeName), not an object"))
        }
        // One walk over the few fields costs less than hashing both keys.
        var userField: JSONValue?
        var continentField: JSONValue?
        for (key, value) in fields {
            switch key {
            case "userId": userField = value
            case "continent": continentField = value
            default: continue
            }
        }
        guard let userField else {
            return .failure(Malformed(reason: "userId is missing"))
        }
        guard let userID = userField.stringValue else {
            return .failure(Malformed(reason: "userId is a JSON \(userField.typeName), not a string"))
        }
        // Blank means only spaces, tabs and line breaks.
        guard userID.utf8.contains(where: { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }) else {
            return .failure(Malformed(reason: "userId is empty"))
        }
        switch continentField {
        case nil, .null:
            return .success(QueuedUser(userID: userID, continent: .world))
        case .string(let text):
            return .success(QueuedUser(userID: userID, continent: Continent(lenient: text)))
        case let other?:
            return .failure(Malformed(reason: "continent is a JSON \(other.typeName), not a string"))
        }
    }
}
