/// A span as an OTLP `ExportTraceServiceRequest` carried it, decoded from the protobuf bytes
/// (opentelemetry-proto `trace/v1/trace.proto`, `common/v1/common.proto`).
public struct OTLPSpan: Sendable, Hashable {
    /// The `service.name` of the resource the span came with.
    public var serviceName: String?
    /// Lowercase hex, as in W3C `traceparent`.
    public var traceID: String
    public var spanID: String
    /// Empty for a root span.
    public var parentSpanID: String
    public var name: String
    public var kind: Kind
    public var startNanoseconds: UInt64
    public var endNanoseconds: UInt64
    public var attributes: [String: AttributeValue]
    public var status: Status
    public var statusMessage: String

    public enum Kind: Int, Sendable {
        case unspecified = 0
        case `internal`, server, client, producer, consumer
    }

    public enum Status: Int, Sendable {
        case unset = 0
        case ok, error
    }

    /// An OTLP `AnyValue`.
    public indirect enum AttributeValue: Sendable, Hashable {
        case string(String)
        case bool(Bool)
        case int(Int64)
        case double(Double)
        case array([AttributeValue])
        case keyValues([String: AttributeValue])
        case bytes([UInt8])

        public var string: String? {
            if case .string(let value) = self { return value }
            return nil
        }
        public var int: Int64? {
            if case .int(let value) = self { return value }
            return nil
        }
    }

    public var durationNanoseconds: UInt64 { endNanoseconds - startNanoseconds }

    /// Decodes every span of an `ExportTraceServiceRequest`.
    public static func decodeRequest(_ bytes: [UInt8]) throws -> [OTLPSpan] {
        var spans: [OTLPSpan] = []
        for resourceSpans in try ProtobufReader.fields(of: bytes[...]) where resourceSpans.number == 1 {
            guard let body = resourceSpans.value.bytes else { continue }
            var serviceName: String?
            var scopes: [ArraySlice<UInt8>] = []
            for field in try ProtobufReader.fields(of: body) {
                switch field.number {
                case 1:  // Resource
                    let resource = try ProtobufReader.fields(of: field.value.bytes ?? [])
                    for attribute in resource where attribute.number == 1 {
                        let (key, value) = try keyValue(attribute.value.bytes ?? [])
                        if key == "service.name" { serviceName = value.string }
                    }
                case 2:  // ScopeSpans
                    scopes.append(field.value.bytes ?? [])
                default:
                    break
                }
            }
            for scope in scopes {
                for field in try ProtobufReader.fields(of: scope) where field.number == 2 {
                    var span = try OTLPSpan(field.value.bytes ?? [])
                    span.serviceName = serviceName
                    spans.append(span)
                }
            }
        }
        return spans
    }

    init(_ bytes: ArraySlice<UInt8>) throws {
        traceID = ""
        spanID = ""
        parentSpanID = ""
        name = ""
        kind = .unspecified
        startNanoseconds = 0
        endNanoseconds = 0
        attributes = [:]
        status = .unset
        statusMessage = ""
        for field in try ProtobufReader.fields(of: bytes) {
            switch field.number {
            case 1: traceID = Self.hex(field.value.bytes ?? [])
            case 2: spanID = Self.hex(field.value.bytes ?? [])
            case 4: parentSpanID = Self.hex(field.value.bytes ?? [])
            case 5: name = field.value.string ?? ""
            case 6: kind = Kind(rawValue: Int(field.value.integer ?? 0)) ?? .unspecified
            case 7: startNanoseconds = field.value.integer ?? 0
            case 8: endNanoseconds = field.value.integer ?? 0
            case 9:
                let (key, value) = try Self.keyValue(field.value.bytes ?? [])
                attributes[key] = value
            case 15:
                for statusField in try ProtobufReader.fields(of: field.value.bytes ?? []) {
                    if statusField.number == 2 { statusMessage = statusField.value.string ?? "" }
                    if statusField.number == 3 { status = Status(rawValue: Int(statusField.value.integer ?? 0)) ?? .unset }
                }
            default:
                break
            }
        }
    }

    static func keyValue(_ bytes: ArraySlice<UInt8>) throws -> (String, AttributeValue) {
        var key = ""
        var value = AttributeValue.string("")
        for field in try ProtobufReader.fields(of: bytes) {
            if field.number == 1 { key = field.value.string ?? "" }
            if field.number == 2 { value = try anyValue(field.value.bytes ?? []) }
        }
        return (key, value)
    }

    static func anyValue(_ bytes: ArraySlice<UInt8>) throws -> AttributeValue {
        var value = AttributeValue.string("")
        for field in try ProtobufReader.fields(of: bytes) {
            switch field.number {
            case 1: value = .string(field.value.string ?? "")
            case 2: value = .bool((field.value.integer ?? 0) != 0)
            case 3: value = .int(Int64(bitPattern: field.value.integer ?? 0))
            case 4: value = .double(Double(bitPattern: field.value.integer ?? 0))
            case 5:
                let values = try ProtobufReader.fields(of: field.value.bytes ?? []).filter { $0.number == 1 }
                value = .array(try values.map { try anyValue($0.value.bytes ?? []) })
            case 6:
                var members: [String: AttributeValue] = [:]
                for member in try ProtobufReader.fields(of: field.value.bytes ?? []) where member.number == 1 {
                    let (key, memberValue) = try keyValue(member.value.bytes ?? [])
                    members[key] = memberValue
                }
                value = .keyValues(members)
            case 7: value = .bytes(Array(field.value.bytes ?? []))
            default: break
            }
        }
        return value
    }

    static func hex(_ bytes: ArraySlice<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
