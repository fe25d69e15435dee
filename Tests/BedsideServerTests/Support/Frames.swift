import BedsideCore

/// Client frames as a test writes them.
enum Frame {
    static func message(_ session: String, _ content: String, id: String? = nil) -> JSONValue {
        var members: [String: JSONValue] = ["type": "message", "session_id": .string(session), "content": .string(content)]
        if let id { members["client_message_id"] = .string(id) }
        return .object(members)
    }

    static func cancel(_ session: String) -> JSONValue {
        ["type": "cancel", "session_id": .string(session)]
    }

    static func resume(_ session: String, lastSeq: Int64) -> JSONValue {
        ["type": "resume", "session_id": .string(session), "last_seq": .integer(lastSeq)]
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByDictionaryLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(uniqueKeysWithValues: elements))
    }
}

/// The seqs of the events that have one, in order.
func seqs(_ events: [JSONValue]) -> [Int64] { events.compactMap(\.seq) }
