/// Appends compact JSON to a string, one member at a time, with no intermediate values.
///
/// Server events are encoded once, on the emission path, and the same text is persisted and
/// sent to every connection; this writer keeps that encoding cheap and its key order stable.
///
/// ```swift
/// var json = JSONWriter()
/// json.beginObject()
/// json.member("type", "user")
/// json.member("seq", 3)
/// json.endObject()
/// // json.text == #"{"type":"user","seq":3}"#
/// ```
public struct JSONWriter: Sendable {
    /// The JSON written so far.
    public private(set) var text: String
    private var needsComma = false

    public init(capacity: Int = 256) {
        text = String()
        text.reserveCapacity(capacity)
    }

    public mutating func beginObject() {
        separate()
        text.append("{")
        needsComma = false
    }

    public mutating func endObject() {
        text.append("}")
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        text.append("[")
        needsComma = false
    }

    public mutating func endArray() {
        text.append("]")
        needsComma = true
    }

    /// Writes `json`, already-encoded JSON text (a stored event), as the next value.
    public mutating func raw(_ json: String) {
        separate()
        text.append(json)
        needsComma = true
    }

    /// Writes `"key":` so that the next value becomes that member's value.
    public mutating func key(_ key: String) {
        separate()
        appendQuoted(key)
        text.append(":")
        needsComma = false
    }

    public mutating func member(_ key: String, _ value: String) {
        self.key(key)
        string(value)
    }

    public mutating func member(_ key: String, _ value: String?) {
        self.key(key)
        if let value { string(value) } else { null() }
    }

    public mutating func member(_ key: String, _ value: Int64) {
        self.key(key)
        integer(value)
    }

    public mutating func member(_ key: String, _ value: Int64?) {
        self.key(key)
        if let value { integer(value) } else { null() }
    }

    public mutating func member(_ key: String, _ value: Bool) {
        self.key(key)
        bool(value)
    }

    public mutating func member(_ key: String, _ value: JSONValue) {
        self.key(key)
        self.value(value)
    }

    public mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
        needsComma = true
    }

    public mutating func integer(_ value: Int64) {
        separate()
        text.append(String(value))
        needsComma = true
    }

    public mutating func number(_ value: Double) {
        separate()
        if value.isFinite {
            if value.rounded() == value && abs(value) < 1e15 {
                text.append(String(Int64(value)))
            } else {
                text.append(String(value))
            }
        } else {
            text.append("null")  // JSON has no NaN or infinity
        }
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        separate()
        text.append(value ? "true" : "false")
        needsComma = true
    }

    public mutating func null() {
        separate()
        text.append("null")
        needsComma = true
    }

    /// Writes any JSON value; object members are written in sorted key order so the output is stable.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .integer(let number): integer(number)
        case .number(let number): self.number(number)
        case .string(let string): self.string(string)
        case .array(let elements):
            beginArray()
            for element in elements { self.value(element) }
            endArray()
        case .object(let members):
            beginObject()
            for key in members.keys.sorted() {
                member(key, members[key]!)
            }
            endObject()
        }
    }

    private mutating func separate() {
        if needsComma { text.append(",") }
    }

    private mutating func appendQuoted(_ string: String) {
        text.append("\"")
        // Most strings need no escaping: find the first byte that does in one pass over the
        // contiguous UTF-8, and append the whole string at once when there is none.
        var copy = string
        let firstEscape = copy.withUTF8 { bytes in
            bytes.firstIndex { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        }
        guard let firstEscape else {
            text.append(string)
            text.append("\"")
            return
        }
        let utf8 = string.utf8
        var start = utf8.startIndex
        var index = utf8.index(start, offsetBy: firstEscape)
        while index != utf8.endIndex {
            let byte = utf8[index]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                text.append(contentsOf: string[start..<index])
                switch byte {
                case UInt8(ascii: "\""): text.append("\\\"")
                case UInt8(ascii: "\\"): text.append("\\\\")
                case 0x0A: text.append("\\n")
                case 0x0D: text.append("\\r")
                case 0x09: text.append("\\t")
                default:
                    let hex = String(byte, radix: 16)
                    text.append("\\u00")
                    if hex.count == 1 { text.append("0") }
                    text.append(hex)
                }
                start = utf8.index(after: index)
            }
            index = utf8.index(after: index)
        }
        text.append(contentsOf: string[start..<utf8.endIndex])
        text.append("\"")
    }
}
