public import BedsideCore
public import Foundation

/// Parses and writes the FHIR JSON that Bedside stores, without going through `Codable`.
///
/// Parsing uses `JSONSerialization` (optimised in the toolchain) and converts to ``JSONValue``;
/// writing uses `JSONWriter`, whose sorted keys make stored text byte-for-byte reproducible.
public enum FHIRJSON {
    /// Parses JSON text into a value; throws when `data` is not JSON.
    public static func parse(_ data: Data) throws -> JSONValue {
        let object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        return value(from: object)
    }

    /// Parses JSON text held in a string; throws when it is not JSON.
    public static func parse(_ text: String) throws -> JSONValue {
        try parse(Data(text.utf8))
    }

    /// Compact JSON with object keys in sorted order.
    public static func text(_ value: JSONValue) -> String {
        var writer = JSONWriter(capacity: 1024)
        writer.value(value)
        return writer.text
    }

    static func value(from object: Any) -> JSONValue {
        switch object {
        case let string as String:
            return .string(string)
        case let dictionary as [String: Any]:
            var members: [String: JSONValue] = [:]
            members.reserveCapacity(dictionary.count)
            for (key, element) in dictionary { members[key] = value(from: element) }
            return .object(members)
        case let array as [Any]:
            return .array(array.map { value(from: $0) })
        case let number as NSNumber:
            return numberValue(number)
        default:
            return .null
        }
    }

    /// `JSONSerialization` hands back `NSNumber` for booleans too; its Objective-C type tells them apart.
    private static func numberValue(_ number: NSNumber) -> JSONValue {
        switch number.objCType.pointee {
        case CChar(UInt8(ascii: "c")), CChar(UInt8(ascii: "B")):
            return .bool(number.boolValue)
        case CChar(UInt8(ascii: "d")), CChar(UInt8(ascii: "f")):
            let double = number.doubleValue
            return .number(double)
        default:
            return .integer(number.int64Value)
        }
    }
}

extension JSONValue {
    /// The elements, when this is an array.
    var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The number as a `Double`, when this is a number.
    var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }

    /// Each element of an array, or the value itself: FHIR elements with cardinality 0..* read alike.
    var elements: [JSONValue] {
        if case .array(let value) = self { return value }
        return [self]
    }
}
