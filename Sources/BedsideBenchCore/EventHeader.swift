/// The few fields the benchmark reads from each server event, found by scanning the frame's
/// bytes rather than decoding its JSON.
///
/// Bedside writes the common members first and always in the same order (`type`,
/// `session_id`, `seq`, `timestamp`, …; docs/protocol.md), so each is the first occurrence of
/// its key. Only `turn` events are searched for their `status`, and only `error` events for
/// their `code`.
public struct EventHeader: Sendable, Equatable {
    /// The wire `type`, e.g. `assistant`.
    public var type: String
    /// The `session_id`, as bytes.
    public var sessionID: [UInt8]
    /// The `seq`, when the event has one.
    public var seq: Int64?
    /// The `timestamp` in microseconds since 1970, when present and well formed.
    public var timestampMicros: Int64?
    /// `status` of a `turn` event, `code` of an `error` event; nil for other types.
    public var detail: String?

    public init(type: String, sessionID: [UInt8], seq: Int64?, timestampMicros: Int64?, detail: String?) {
        self.type = type
        self.sessionID = sessionID
        self.seq = seq
        self.timestampMicros = timestampMicros
        self.detail = detail
    }

    /// Whether this `turn` event ends its turn (any status but `started`).
    public var endsTurn: Bool { type == "turn" && detail != nil && detail != "started" }

    /// Reads the header of one event's JSON text; nil when the text lacks `type` or `session_id`.
    public static func scan(_ bytes: UnsafeRawBufferPointer) -> EventHeader? {
        guard let type = stringValue(of: typeKey, in: bytes, from: 0),
            let session = stringValue(of: sessionKey, in: bytes, from: type.upperBound)
        else { return nil }
        var cursor = session.upperBound
        var seq: Int64?
        if let digits = numberValue(of: seqKey, in: bytes, from: cursor) {
            seq = integer(bytes, digits)
            cursor = digits.upperBound
        }
        var micros: Int64?
        if let stamp = stringValue(of: timestampKey, in: bytes, from: cursor) {
            micros = timestampMicroseconds(bytes, stamp)
            cursor = stamp.upperBound
        }
        let typeText = string(bytes, type)
        var detail: String?
        if typeText == "turn", let status = stringValue(of: statusKey, in: bytes, from: cursor) {
            detail = string(bytes, status)
        } else if typeText == "error", let code = stringValue(of: codeKey, in: bytes, from: cursor) {
            detail = string(bytes, code)
        }
        return EventHeader(type: typeText, sessionID: Array(bytes[session]), seq: seq, timestampMicros: micros, detail: detail)
    }

    /// Reads the header of one event's JSON text.
    public static func scan(_ text: String) -> EventHeader? {
        var text = text
        return text.withUTF8 { scan(UnsafeRawBufferPointer($0)) }
    }

    private static let typeKey = Array(#""type":""#.utf8)
    private static let sessionKey = Array(#""session_id":""#.utf8)
    private static let seqKey = Array(#""seq":"#.utf8)
    private static let timestampKey = Array(#""timestamp":""#.utf8)
    private static let statusKey = Array(#""status":""#.utf8)
    private static let codeKey = Array(#""code":""#.utf8)

    private static func find(_ key: [UInt8], in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let first = key.first, bytes.count >= key.count else { return nil }
        var index = start
        let last = bytes.count - key.count
        while index <= last {
            if bytes[index] == first {
                var matched = 1
                while matched < key.count, bytes[index + matched] == key[matched] { matched += 1 }
                if matched == key.count { return index + key.count }
            }
            index += 1
        }
        return nil
    }

    /// The range of a string member's contents (between the quotes; no escapes expected).
    private static func stringValue(of key: [UInt8], in bytes: UnsafeRawBufferPointer, from start: Int) -> Range<Int>? {
        guard let begin = find(key, in: bytes, from: start) else { return nil }
        var end = begin
        while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
            if bytes[end] == UInt8(ascii: "\\") { end += 1 }
            end += 1
        }
        return end < bytes.count ? begin..<end : nil
    }

    /// The range of a non-negative integer member's digits.
    private static func numberValue(of key: [UInt8], in bytes: UnsafeRawBufferPointer, from start: Int) -> Range<Int>? {
        guard let begin = find(key, in: bytes, from: start) else { return nil }
        var end = begin
        while end < bytes.count, bytes[end] >= UInt8(ascii: "0"), bytes[end] <= UInt8(ascii: "9") { end += 1 }
        return end > begin ? begin..<end : nil
    }

    private static func string(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }

    private static func integer(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int64? {
        guard range.count <= 18 else { return nil }
        var value: Int64 = 0
        for index in range { value = value * 10 + Int64(bytes[index] - UInt8(ascii: "0")) }
        return value
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ` (1 to 6 fractional digits) as microseconds since 1970.
    static func timestampMicroseconds(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int64? {
        let base = range.lowerBound
        guard range.count >= 20, bytes[range.upperBound - 1] == UInt8(ascii: "Z") else { return nil }
        func number(_ offset: Int, _ width: Int) -> Int64? {
            var value: Int64 = 0
            for index in (base + offset)..<(base + offset + width) {
                let byte = bytes[index]
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2)
        else { return nil }
        var micros: Int64 = 0
        if range.count > 20 {
            let digits = range.count - 21
            guard bytes[base + 19] == UInt8(ascii: "."), (1...6).contains(digits), let fraction = number(20, digits) else { return nil }
            micros = fraction
            for _ in digits..<6 { micros *= 10 }
        }
        // Days from the civil date (proleptic Gregorian), as in Bedside's own Timestamp.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let monthIndex = month > 2 ? month - 3 : month + 9
        let dayOfYear = (153 * monthIndex + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return ((days * 86_400) + hour * 3600 + minute * 60 + second) * 1_000_000 + micros
    }
}
