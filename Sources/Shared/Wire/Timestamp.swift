import Foundation

/// PostgreSQL's `timestamptz` text form as PostgREST returns it: `2026-11-29T03:24:44.123456+00:00`.
public enum Timestamp {
    /// The instants a timestamp may name, in seconds since 1970: from PostgreSQL's lowest (4713 BC) to
    /// about year 294,000, where microseconds since 1970 still fit in an `Int64`.
    public static let range: ClosedRange<TimeInterval> = -210_866_803_200...9_200_000_000_000

    /// Formats `date` in UTC with microseconds; an instant outside `range` is formatted as its nearest end
    /// (issue 16: one far outside trapped converting to `Int64`).
    public static func format(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        let bounded = interval.isFinite ? min(max(interval, range.lowerBound), range.upperBound) : range.lowerBound
        let totalMicros = (bounded * 1_000_000).rounded()
        let seconds = Int64((totalMicros / 1_000_000).rounded(.down))
        let micros = Int64(totalMicros) - seconds * 1_000_000
        let parts = Calendar.utc.dateComponents(
            [.year, .month, .day, .hour, .minute, .second],
            from: Date(timeIntervalSince1970: TimeInterval(seconds))
        )
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06lld+00:00",
            parts.year ?? 0, parts.month ?? 0, parts.day ?? 0,
            parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0, micros
        )
    }

    /// Parses PostgreSQL or ISO-8601 timestamps, with or without fractional seconds, `Z` or `+hh:mm`.
    public static func parse(_ text: String) -> Date? {
        var text = text.replacingOccurrences(of: " ", with: "T")
        var fraction: Double = 0
        if let dot = text.firstIndex(of: ".") {
            let digitsEnd = text[dot...].dropFirst().firstIndex { !$0.isNumber } ?? text.endIndex
            fraction = Double("0" + text[dot..<digitsEnd]) ?? 0
            text.removeSubrange(dot..<digitsEnd)
        }
        if text.hasSuffix("+00") { text += ":00" }
        if !text.hasSuffix("Z"), text.range(of: #"[+-]\d\d:\d\d$"#, options: .regularExpression) == nil {
            text += "Z"
        }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        // The formatter wraps a year past its arithmetic (`99999999-12-03` comes back in 5.8 million BC):
        // an instant outside `range` is no timestamp.
        guard let date = formatter.date(from: text)?.addingTimeInterval(fraction), range.contains(date.timeIntervalSince1970) else {
            return nil
        }
        return date
    }
}

extension Calendar {
    fileprivate static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
