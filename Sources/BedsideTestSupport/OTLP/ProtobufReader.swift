/// Reads the protobuf wire format: each field is a key (field number and wire type) and a
/// value. Only what OTLP trace requests use: varints, fixed 32/64-bit values and
/// length-delimited fields (strings, bytes, embedded messages, packed values).
struct ProtobufReader {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case bytes(ArraySlice<UInt8>)
        case fixed32(UInt32)

        var bytes: ArraySlice<UInt8>? {
            if case .bytes(let value) = self { return value }
            return nil
        }
        var string: String? { bytes.map { String(decoding: $0, as: UTF8.self) } }
        var integer: UInt64? {
            switch self {
            case .varint(let value), .fixed64(let value): value
            case .fixed32(let value): UInt64(value)
            case .bytes: nil
            }
        }
    }

    struct MalformedPayload: Error, CustomStringConvertible {
        var description: String
    }

    private var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
    }

    /// Every field of the message, in order.
    static func fields(of bytes: ArraySlice<UInt8>) throws -> [(number: Int, value: Value)] {
        var reader = ProtobufReader(bytes)
        var fields: [(Int, Value)] = []
        while !reader.bytes.isEmpty {
            fields.append(try reader.nextField())
        }
        return fields
    }

    private mutating func nextField() throws -> (Int, Value) {
        let key = try varint()
        let number = Int(key >> 3)
        switch key & 7 {
        case 0:
            return (number, .varint(try varint()))
        case 1:
            return (number, .fixed64(try fixed(8)))
        case 2:
            let length = Int(try varint())
            guard length >= 0, bytes.count >= length else { throw MalformedPayload(description: "field \(number) overruns the message") }
            let value = bytes.prefix(length)
            bytes = bytes.dropFirst(length)
            return (number, .bytes(value))
        case 5:
            return (number, .fixed32(UInt32(try fixed(4))))
        case let type:
            throw MalformedPayload(description: "wire type \(type) of field \(number) is not supported")
        }
    }

    private mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while let byte = bytes.first {
            bytes = bytes.dropFirst()
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            guard shift < 64 else { break }
        }
        throw MalformedPayload(description: "truncated or overlong varint")
    }

    /// A little-endian fixed-width value of `width` bytes.
    private mutating func fixed(_ width: Int) throws -> UInt64 {
        guard bytes.count >= width else { throw MalformedPayload(description: "truncated fixed-width value") }
        var result: UInt64 = 0
        for (index, byte) in bytes.prefix(width).enumerated() {
            result |= UInt64(byte) << (8 * UInt64(index))
        }
        bytes = bytes.dropFirst(width)
        return result
    }
}
