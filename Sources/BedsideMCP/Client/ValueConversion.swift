import BedsideCore
import Foundation
import MCP

extension JSONValue {
    /// The same JSON as an MCP `Value`.
    var mcpValue: Value {
        switch self {
        case .null: .null
        case .bool(let value): .bool(value)
        case .integer(let value): .int(Int(value))
        case .number(let value): .double(value)
        case .string(let value): .string(value)
        case .array(let items): .array(items.map(\.mcpValue))
        case .object(let members): .object(members.mapValues(\.mcpValue))
        }
    }

    init(_ value: Value) {
        switch value {
        case .null: self = .null
        case .bool(let bool): self = .bool(bool)
        case .int(let int): self = .integer(Int64(int))
        case .double(let double): self = .number(double)
        case .string(let string): self = .string(string)
        case .data(let mimeType, let data):
            self = .string("data:\(mimeType ?? "application/octet-stream");base64,\(data.base64EncodedString())")
        case .array(let items): self = .array(items.map(JSONValue.init))
        case .object(let members): self = .object(members.mapValues(JSONValue.init))
        }
    }
}

extension CallTool.Result {
    /// The result as the model reads it: text parts joined by newlines, other parts described.
    var modelText: String {
        var parts: [String] = []
        for item in content {
            switch item {
            case .text(let text, _, _):
                parts.append(text)
            case .image(let data, let mimeType, _, _):
                parts.append("[image \(mimeType), \(data.count * 3 / 4) bytes]")
            case .audio(let data, let mimeType, _, _):
                parts.append("[audio \(mimeType), \(data.count * 3 / 4) bytes]")
            case .resource(let resource, _, _):
                parts.append(resource.text ?? "[resource \(resource.uri)]")
            case .resourceLink(let uri, let name, _, _, _, _):
                parts.append("[resource link \(name): \(uri)]")
            }
        }
        if parts.isEmpty, let structuredContent {
            let data = (try? JSONEncoder().encode(JSONValue(structuredContent))) ?? Data()
            parts.append(String(decoding: data, as: UTF8.self))
        }
        return parts.joined(separator: "\n")
    }
}
