import BedsideCore

/// The search rows one resource contributes: what the store writes next to its JSON.
struct ResourceIndex: Sendable, Equatable {
    struct Token: Sendable, Equatable {
        let param: String
        let system: String?
        let code: String
    }

    struct Text: Sendable, Equatable {
        let param: String
        /// Lowercased, accents removed: what string search compares against.
        let normalized: String
        /// As written, for `:exact`.
        let raw: String
    }

    struct DateRange: Sendable, Equatable {
        let param: String
        let start: Int64
        let end: Int64
    }

    var tokens: [Token] = []
    var texts: [Text] = []
    var dates: [DateRange] = []

    /// Extracts the rows `resource` of `type` contributes under its type's catalog.
    init(type: String, resource: JSONValue) {
        for parameter in SearchParameterCatalog.of(type).parameters.values {
            switch parameter.kind {
            case .string:
                for node in parameter.paths.flatMap({ Self.select($0, in: resource) }) {
                    for raw in Self.strings(in: node) {
                        texts.append(Text(param: parameter.name, normalized: FHIRText.normalize(raw), raw: raw))
                    }
                }
            case .token:
                for node in parameter.paths.flatMap({ Self.select($0, in: resource) }) {
                    for (system, code) in Self.codes(in: node) {
                        tokens.append(Token(param: parameter.name, system: system, code: code))
                    }
                }
            case .date:
                for path in parameter.paths {
                    let ranges = Self.select(path, in: resource).compactMap(Self.range)
                    guard !ranges.isEmpty else { continue }
                    dates += ranges.map { DateRange(param: parameter.name, start: $0.lowerBound, end: $0.upperBound) }
                    break
                }
            }
        }
        // Parameters come from a dictionary; sorting keeps stored rows identical from run to run.
        tokens.sort { ($0.param, $0.system ?? "", $0.code) < ($1.param, $1.system ?? "", $1.code) }
        texts.sort { ($0.param, $0.raw) < ($1.param, $1.raw) }
        dates.sort { ($0.param, $0.start, $0.end) < ($1.param, $1.start, $1.end) }
    }

    /// The nodes a dotted path reaches; arrays along the way are flattened.
    static func select(_ path: String, in resource: JSONValue) -> [JSONValue] {
        var nodes = [resource]
        for component in path.split(separator: ".") {
            var next: [JSONValue] = []
            for node in nodes {
                guard let members = node.objectValue else { continue }
                if component.hasSuffix("[x]") {
                    let base = component.dropLast(3)
                    for (key, value) in members where key.count > base.count && key.hasPrefix(base) {
                        let first = key[key.index(key.startIndex, offsetBy: base.count)]
                        if first.isUppercase { next += value.elements }
                    }
                } else if let value = members[String(component)] {
                    next += value.elements
                }
            }
            nodes = next
        }
        return nodes
    }

    /// String values of a node: a string itself, or the text parts of a HumanName or Address.
    static func strings(in node: JSONValue) -> [String] {
        switch node {
        case .string(let value):
            return [value]
        case .object(let members):
            return members.keys.sorted().flatMap { key -> [String] in
                guard !["use", "type", "period", "extension", "id"].contains(key) else { return [] }
                return members[key]!.elements.compactMap(\.stringValue)
            }
        default:
            return []
        }
    }

    /// (system, code) pairs of a code, Coding, CodeableConcept or Identifier.
    static func codes(in node: JSONValue) -> [(String?, String)] {
        switch node {
        case .string(let code):
            return [(nil, code)]
        case .bool(let flag):
            return [(nil, flag ? "true" : "false")]
        case .object(let members):
            if let codings = members["coding"] {
                return codings.elements.flatMap(codes(in:))
            }
            if let code = members["code"]?.stringValue {
                return [(members["system"]?.stringValue, code)]
            }
            if let value = members["value"]?.stringValue {
                return [(members["system"]?.stringValue, value)]
            }
            return []
        default:
            return []
        }
    }

    /// The range of a date string or a Period (an open end reaches the far past or future).
    static func range(_ node: JSONValue) -> ClosedRange<Int64>? {
        if let text = node.stringValue { return FHIRDate.range(text) }
        guard let members = node.objectValue else { return nil }
        let start = members["start"]?.stringValue.flatMap(FHIRDate.range)
        let end = members["end"]?.stringValue.flatMap(FHIRDate.range)
        if start == nil && end == nil { return nil }
        let lower = start?.lowerBound ?? FHIRDate.minimum
        let upper = end?.upperBound ?? FHIRDate.maximum
        return lower...max(lower, upper)
    }
}
