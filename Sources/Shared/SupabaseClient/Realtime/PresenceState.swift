/// A channel's presence as Phoenix keeps it on the client: key → metas, each meta with its `phx_ref`.
///
/// Built from `presence_state` and kept current by `presence_diff` (joins add metas, leaves remove them
/// by `phx_ref`), the way phoenix.js `Presence.syncState`/`syncDiff` do.
public struct PresenceState: Sendable, Hashable {
    /// Key → metas.
    public private(set) var entries: [String: [JSONValue]] = [:]

    /// An empty state.
    public init() {}

    /// A state holding `entries`.
    public init(entries: [String: [JSONValue]]) { self.entries = entries }

    /// The state a `presence_state` payload (`{key: {metas: [...]}}`) describes.
    public init(syncing payload: JSONValue) { entries = Self.metas(in: payload) }

    /// Replaces the state with a `presence_state` payload (`{key: {metas: [...]}}`).
    public mutating func sync(_ payload: JSONValue) {
        entries = Self.metas(in: payload)
    }

    /// Applies a `presence_diff` payload (`{joins: {...}, leaves: {...}}`).
    public mutating func apply(diff payload: JSONValue) {
        for (key, metas) in Self.metas(in: payload["joins"] ?? [:]) {
            let refs = Set(metas.compactMap { $0["phx_ref"]?.stringValue })
            var current = entries[key, default: []].filter { meta in
                guard let ref = meta["phx_ref"]?.stringValue else { return true }
                return !refs.contains(ref)
            }
            current += metas
            entries[key] = current
        }
        for (key, metas) in Self.metas(in: payload["leaves"] ?? [:]) {
            let refs = Set(metas.compactMap { $0["phx_ref"]?.stringValue })
            let remaining = entries[key, default: []].filter { meta in
                guard let ref = meta["phx_ref"]?.stringValue else { return false }
                return !refs.contains(ref)
            }
            entries[key] = remaining.isEmpty ? nil : remaining
        }
    }

    /// The presence keys, sorted.
    public var keys: [String] { entries.keys.sorted() }

    private static func metas(in payload: JSONValue) -> [String: [JSONValue]] {
        guard case .object(let fields) = payload else { return [:] }
        var result: [String: [JSONValue]] = [:]
        for (key, value) in fields {
            if case .array(let metas)? = value["metas"] { result[key] = metas }
        }
        return result
    }
}
