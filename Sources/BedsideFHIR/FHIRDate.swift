/// FHIR dates, date-times and instants as ranges of UTC epoch seconds.
///
/// A partial date stands for the whole period it names (`2019` is all of 2019), as the FHIR R4
/// search specification asks; both ends of a range are inclusive. Years run from 0001 to 9999 and
/// offsets from -14:00 to +14:00, as the R4 `dateTime` pattern says; a time whose offset takes it
/// past either end of that span is kept within ``minimum`` and ``maximum``.
enum FHIRDate {
    /// The earliest second a stored range may use: an open period start.
    static let minimum: Int64 = -62_135_596_800  // 0001-01-01T00:00:00Z
    /// The latest second a stored range may use: an open period end.
    static let maximum: Int64 = 253_402_300_799  // 9999-12-31T23:59:59Z

    /// The range `text` covers, or nil when it is not a FHIR date, dateTime or instant.
    static func range(_ text: String) -> ClosedRange<Int64>? {
        var scanner = Scanner(Array(text.utf8))
        guard let year = scanner.digits(4), year >= 1 else { return nil }
        guard scanner.consume(UInt8(ascii: "-")) else {
            return scanner.atEnd ? span(year, 1, 1, days: daysInYear(year)) : nil
        }
        guard let month = scanner.digits(2), (1...12).contains(month) else { return nil }
        guard scanner.consume(UInt8(ascii: "-")) else {
            return scanner.atEnd ? span(year, month, 1, days: daysIn(year, month)) : nil
        }
        guard let day = scanner.digits(2), (1...daysIn(year, month)).contains(day) else { return nil }
        guard scanner.consume(UInt8(ascii: "T")) else {
            return scanner.atEnd ? span(year, month, day, days: 1) : nil
        }
        guard let hour = scanner.digits(2), hour < 24, scanner.consume(UInt8(ascii: ":")),
            let minute = scanner.digits(2), minute < 60
        else { return nil }
        var second = 0
        var precision: Int64 = 60
        if scanner.consume(UInt8(ascii: ":")) {
            guard let value = scanner.digits(2), value < 61 else { return nil }
            second = min(value, 59)
            precision = 1
            if scanner.consume(UInt8(ascii: ".")) {
                guard scanner.skipDigits() else { return nil }
            }
        }
        guard let offset = scanner.zoneOffset(), scanner.atEnd else { return nil }
        let local = Int64(daysFromCivil(year, month, day)) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        let start = local - offset
        return (start...(start + precision - 1)).clamped(to: minimum...maximum)
    }

    /// The instant `text` starts at, or nil when it is not a date.
    static func start(_ text: String) -> Int64? { range(text)?.lowerBound }

    /// `seconds` as `yyyy-MM-ddTHH:mm:ssZ`.
    static func iso(_ seconds: Int64) -> String {
        let days = Int(seconds.floorDivided(by: 86_400))
        let rest = Int(seconds - Int64(days) * 86_400)
        let (year, month, day) = civilFromDays(days)
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(rest / 3600, 2)):\(pad(rest / 60 % 60, 2)):\(pad(rest % 60, 2))Z"
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The calendar date of a day count since 1970-01-01.
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysIn(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: daysInYear(year) == 366 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    private static func daysInYear(_ year: Int) -> Int {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 366 : 365
    }

    private static func span(_ year: Int, _ month: Int, _ day: Int, days: Int) -> ClosedRange<Int64> {
        let start = Int64(daysFromCivil(year, month, day)) * 86_400
        return start...(start + Int64(days) * 86_400 - 1)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}

extension Int64 {
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

/// Reads the ASCII pieces of a FHIR date.
private struct Scanner {
    let bytes: [UInt8]
    var index = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { index == bytes.count }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func digits(_ count: Int) -> Int? {
        guard index + count <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[index..<(index + count)] {
            guard (48...57).contains(byte) else { return nil }
            value = value * 10 + Int(byte - 48)
        }
        index += count
        return value
    }

    mutating func skipDigits() -> Bool {
        let begin = index
        while index < bytes.count, (48...57).contains(bytes[index]) { index += 1 }
        return index > begin
    }

    /// Seconds east of UTC, at most 14 hours either way; a time with no zone is read as UTC.
    mutating func zoneOffset() -> Int64? {
        if atEnd { return 0 }
        if consume(UInt8(ascii: "Z")) { return 0 }
        let sign: Int64
        if consume(UInt8(ascii: "+")) {
            sign = 1
        } else if consume(UInt8(ascii: "-")) {
            sign = -1
        } else {
            return nil
        }
        guard let hours = digits(2), consume(UInt8(ascii: ":")), let minutes = digits(2), minutes < 60,
            hours < 14 || (hours == 14 && minutes == 0)
        else { return nil }
        return sign * Int64(hours * 3600 + minutes * 60)
    }
}
