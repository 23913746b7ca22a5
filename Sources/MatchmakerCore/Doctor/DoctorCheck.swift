/// One line of `matchmaker doctor`'s checklist: what was checked, what was found, and the fix when it failed.
public struct DoctorCheck: Sendable, Codable, Hashable {
    /// The outcome of a check.
    public enum Status: String, Sendable, Codable, Hashable {
        /// As it should be.
        case pass
        /// Works, but worth a look (a queue open to browsers, a check that needs another key).
        case warn
        /// The switch-over would break something: fix it first.
        case fail
        /// Not checked: the configuration gives no way to (say which key would).
        case skip
    }

    /// A stable name for scripts, e.g. `supabase.key` or `database.cron`.
    public var id: String
    /// The outcome.
    public var status: Status
    /// What was found, in one sentence.
    public var detail: String
    /// What to do about a `fail` or `warn`.
    public var fix: String?

    /// Creates a check line.
    public init(_ id: String, _ status: Status, _ detail: String, fix: String? = nil) {
        self.id = id
        self.status = status
        self.detail = detail
        self.fix = fix
    }
}

/// Everything `matchmaker doctor` found: ready when no check failed.
public struct DoctorReport: Sendable, Codable, Hashable {
    /// The checks, in the order they ran.
    public var checks: [DoctorCheck]

    /// Creates a report.
    public init(checks: [DoctorCheck]) { self.checks = checks }

    /// Whether the project is ready for the switch-over: no check failed.
    public var ready: Bool { !checks.contains { $0.status == .fail } }

    /// The checklist for a terminal: one line a check, the fix indented under a failure or warning.
    public var text: String {
        var lines: [String] = []
        for check in checks {
            let mark =
                switch check.status {
                case .pass: "[ok]  "
                case .warn: "[warn]"
                case .fail: "[FAIL]"
                case .skip: "[skip]"
                }
            lines.append("\(mark) \(check.id): \(check.detail)")
            if let fix = check.fix, check.status != .pass { lines.append("       fix: \(fix)") }
        }
        let failures = checks.filter { $0.status == .fail }.count
        lines.append(ready ? "Ready to switch over." : "Not ready: \(failures) check(s) failed.")
        return lines.joined(separator: "\n")
    }
}
