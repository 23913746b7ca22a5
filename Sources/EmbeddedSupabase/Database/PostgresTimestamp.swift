import Foundation

/// PostgreSQL's input of `timestamptz` and `timestamp` values, for the ISO forms clients send: a date
/// (`2020-01-01`, midnight), optionally a time after `T` or spaces (`10:00`, `10:00:00.123456`, `24:00:00` is
/// the next midnight) and optionally a zone (`Z`, `+02`, `+0230`, `-02:30`). A value without a zone is
/// UTC, the session zone of a Supabase project; `timestamp` (without time zone) ignores a given zone,
/// as PostgreSQL does. Fractions are rounded to microseconds.
///
/// Malformed text is `22007` (invalid datetime format), a well-formed one with a field out of range
/// (`2026-13-01`, `2026-02-30`, `25:00`) is `22008`, with PostgreSQL's messages. Special values (`now`,
/// `today`, `epoch`, `infinity`) and other styles (`12/03/2026`, `Dec 3 2026`) are not understood: `22007`.
enum PostgresTimestamp {
    /// Parses `text` as the given type.
    static func parse(_ text: String, withTimeZone: Bool) throws(SQLError) -> Date {
        let typeName = withTimeZone ? "timestamp with time zone" : "timestamp without time zone"
        let invalid = SQLError(code: "22007", message: "invalid input syntax for type \(typeName): \"\(text)\"")
        let outOfRange = SQLError(code: "22008", message: "date/time field value out of range: \"\(text)\"")
        var scanner = Scanner(Array(text.utf8))
        scanner.skipSpaces()
        guard let year = scanner.digits(exactly: 4), scanner.take("-"), let month = scanner.digits(exactly: 2),
            scanner.take("-"), let day = scanner.digits(exactly: 2)
        else { throw invalid }
        var hour = 0
        var minute = 0
        var second = 0
        var micros = 0
        var offsetSeconds = 0
        let beforeTime = scanner.position
        if scanner.take("T") || scanner.take("t") || scanner.skipSpaces() {
            if let h = scanner.digits(exactly: 2) {
                guard scanner.take(":"), let m = scanner.digits(exactly: 2) else { throw invalid }
                (hour, minute) = (h, m)
                if scanner.take(":") {
                    guard let s = scanner.digits(exactly: 2) else { throw invalid }
                    second = s
                    if scanner.take(".") {
                        guard let fraction = scanner.fraction() else { throw invalid }
                        micros = fraction
                    }
                }
            } else if scanner.text[beforeTime] != UInt8(ascii: " ") {
                throw invalid
            }
        }
        scanner.skipSpaces()
        if scanner.take("Z") || scanner.take("z") {
            offsetSeconds = 0
        } else if let sign = scanner.sign() {
            guard let h = scanner.digits(exactly: 2) else { throw invalid }
            var m = 0
            if scanner.take(":") {
                guard let minutes = scanner.digits(exactly: 2) else { throw invalid }
                m = minutes
            } else if let minutes = scanner.digits(exactly: 2) {
                m = minutes
            }
            guard h <= 15, m < 60 else { throw SQLError(code: "22009", message: "time zone displacement out of range: \"\(text)\"") }
            offsetSeconds = sign * (h * 3600 + m * 60)
        }
        scanner.skipSpaces()
        guard scanner.atEnd else { throw invalid }
        guard (1...12).contains(month), (1...daysIn(month, of: year)).contains(day), minute < 60, second <= 60,
            hour < 24 || (hour == 24 && minute == 0 && second == 0 && micros == 0)
        else { throw outOfRange }
        let days = daysFromCivil(year: year, month: month, day: day)
        var seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        if withTimeZone { seconds -= Int64(offsetSeconds) }
        return Date(timeIntervalSince1970: TimeInterval(seconds) + TimeInterval(micros) / 1_000_000)
    }

    private static func daysIn(_ month: Int, of year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    private static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// A cursor over the text's bytes.
    private struct Scanner {
        let text: [UInt8]
        var position = 0

        init(_ text: [UInt8]) { self.text = text }

        var atEnd: Bool { position == text.count }

        /// Consumes `character` when it is next.
        mutating func take(_ character: Unicode.Scalar) -> Bool {
            guard position < text.count, text[position] == UInt8(ascii: character) else { return false }
            position += 1
            return true
        }

        /// Consumes spaces; true when there were any.
        @discardableResult
        mutating func skipSpaces() -> Bool {
            let start = position
            while position < text.count, text[position] == UInt8(ascii: " ") { position += 1 }
            return position > start
        }

        /// Exactly `count` decimal digits, as a number.
        mutating func digits(exactly count: Int) -> Int? {
            guard position + count <= text.count else { return nil }
            var value = 0
            for byte in text[position..<position + count] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            position += count
            return value
        }

        /// A fraction's digits as microseconds, rounded half up as PostgreSQL rounds.
        mutating func fraction() -> Int? {
            var digits: [Int] = []
            while position < text.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(text[position]) {
                digits.append(Int(text[position] - UInt8(ascii: "0")))
                position += 1
            }
            guard !digits.isEmpty else { return nil }
            var micros = 0
            for index in 0..<6 { micros = micros * 10 + (index < digits.count ? digits[index] : 0) }
            if digits.count > 6, digits[6] >= 5 { micros += 1 }
            return micros
        }

        /// `+1` or `-1` for a sign.
        mutating func sign() -> Int? {
            if take("+") { return 1 }
            if take("-") { return -1 }
            return nil
        }
    }
}
