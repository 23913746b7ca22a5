import Configuration
import Foundation

/// Typed reads of documented keys: a value that is set but does not parse, or is out of range, is a
/// `ConfigError` naming the environment variable, never a silent default (swift-configuration's
/// `int(forKey:default:)` falls back to the default on a bad value, so these check first).
extension ConfigReader {
    /// An integer in `range`, or `value` when the key is unset.
    func integer(_ key: ConfigKey, default value: Int, in range: ClosedRange<Int>) throws(ConfigError) -> Int {
        let number = int(forKey: key) ?? string(forKey: key).flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        return try checked(key, number, default: value) { range.contains($0) }
    }

    /// A duration given in whole milliseconds in `range`, or `value` when the key is unset.
    func milliseconds(_ key: ConfigKey, default value: Int, in range: ClosedRange<Int>) throws(ConfigError) -> Duration {
        .milliseconds(try integer(key, default: value, in: range))
    }

    /// A finite, non-negative number of seconds, or `value` when the key is unset.
    func seconds(_ key: ConfigKey, default value: Double) throws(ConfigError) -> Double {
        let number = double(forKey: key) ?? string(forKey: key).flatMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        return try checked(key, number, default: value) { $0 >= 0 && $0.isFinite }
    }

    /// A switch: `true`/`false`, `yes`/`no`, `1`/`0` (swift-configuration's words) or `on`/`off`; `value` when unset.
    func boolean(_ key: ConfigKey, default value: Bool) throws(ConfigError) -> Bool {
        let text = string(forKey: key)?.trimmingCharacters(in: .whitespaces).lowercased()
        let flag: Bool? =
            switch text {
            case "on": true
            case "off": false
            default: bool(forKey: key)
            }
        return try checked(key, flag, default: value) { _ in true }
    }

    /// `value` when the key is unset; the parsed value when it is set and `isValid`; otherwise an error.
    private func checked<T>(_ key: ConfigKey, _ parsed: T?, default value: T, isValid: (T) -> Bool) throws(ConfigError) -> T {
        if let parsed, isValid(parsed) { return parsed }
        guard let text = string(forKey: key) else {
            if parsed == nil { return value }
            throw ConfigError(key: Self.environmentName(key), value: "\(parsed.map { "\($0)" } ?? "")")
        }
        throw ConfigError(key: Self.environmentName(key), value: text)
    }

    /// The value of `key` when it is set and not empty.
    func nonEmpty(_ key: ConfigKey, isSecret: Bool = false) -> String? {
        string(forKey: key, isSecret: isSecret).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The service key: `SUPABASE_SERVICE_ROLE_KEY` (a legacy JWT or a secret key), else its alias `SUPABASE_SECRET_KEY`.
    func serviceKey() -> String? {
        nonEmpty("supabase.serviceRoleKey", isSecret: true) ?? nonEmpty("supabase.secretKey", isSecret: true)
    }

    /// The environment-variable spelling of a key (`http.port` → `HTTP_PORT`), for error messages.
    static func environmentName(_ key: ConfigKey) -> String {
        key.components.joined(separator: "_")
            .replacingOccurrences(of: "([a-z])([A-Z])", with: "$1_$2", options: .regularExpression).uppercased()
    }
}
