/// Reads one streamed Chat Completions chunk straight from its bytes into a ``ChatChunk``.
///
/// A reply arrives as dozens of small chunks, and `JSONDecoder` (its containers, its generic
/// look-ups) was the largest cost of reading them. This reads only the members ``ChatChunk``
/// has and steps over the rest. It gives up (nil) on anything it does not expect, a value of
/// another type, a missing `index`, text after the object, and then `JSONDecoder` decides, so
/// the result and every error stay exactly what they were.
struct ChatChunkScanner {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var position = 0

    /// The chunk in `text`, or nil when `JSONDecoder` should read it.
    static func chunk(in text: String) -> ChatChunk? {
        var text = text
        return text.withUTF8 { bytes in
            var scanner = ChatChunkScanner(bytes: bytes)
            guard let chunk = scanner.chunk(), scanner.atEnd else { return nil }
            return chunk
        }
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    private var atEnd: Bool {
        mutating get {
            skipWhitespace()
            return position == bytes.count
        }
    }

    // MARK: The chunk's members

    private mutating func chunk() -> ChatChunk? {
        var chunk = ChatChunk(choices: nil, usage: nil)
        let read = object { scanner, key in
            switch key {
            case "choices":
                if scanner.null() { return true }
                guard let choices = scanner.array({ $0.choice() }) else { return false }
                chunk.choices = choices
            case "usage":
                if scanner.null() { return true }
                guard let usage = scanner.usage() else { return false }
                chunk.usage = usage
            default:
                return scanner.skipValue()
            }
            return true
        }
        return read ? chunk : nil
    }

    private mutating func choice() -> ChatChunk.Choice? {
        var choice = ChatChunk.Choice(delta: nil, finishReason: nil)
        let read = object { scanner, key in
            switch key {
            case "delta":
                if scanner.null() { return true }
                guard let delta = scanner.delta() else { return false }
                choice.delta = delta
            case "finish_reason":
                guard let reason = scanner.optionalString() else { return false }
                choice.finishReason = reason
            default:
                return scanner.skipValue()
            }
            return true
        }
        return read ? choice : nil
    }

    private mutating func delta() -> ChatChunk.Delta? {
        var delta = ChatChunk.Delta(content: nil, toolCalls: nil)
        let read = object { scanner, key in
            switch key {
            case "content":
                guard let content = scanner.optionalString() else { return false }
                delta.content = content
            case "tool_calls":
                if scanner.null() { return true }
                guard let calls = scanner.array({ $0.toolCall() }) else { return false }
                delta.toolCalls = calls
            default:
                return scanner.skipValue()
            }
            return true
        }
        return read ? delta : nil
    }

    private mutating func toolCall() -> ChatChunk.ToolCallFragment? {
        var index: Int?
        var id: String?
        var function: ChatChunk.ToolCallFragment.Function?
        let read = object { scanner, key in
            switch key {
            case "index":
                guard let value = scanner.integer() else { return false }
                index = Int(exactly: value)
                return index != nil
            case "id":
                guard let value = scanner.optionalString() else { return false }
                id = value
            case "function":
                if scanner.null() { return true }
                var name: String?
                var arguments: String?
                let readFunction = scanner.object { scanner, key in
                    switch key {
                    case "name":
                        guard let value = scanner.optionalString() else { return false }
                        name = value
                    case "arguments":
                        guard let value = scanner.optionalString() else { return false }
                        arguments = value
                    default:
                        return scanner.skipValue()
                    }
                    return true
                }
                guard readFunction else { return false }
                function = .init(name: name, arguments: arguments)
            default:
                return scanner.skipValue()
            }
            return true
        }
        guard read, let index else { return nil }
        return ChatChunk.ToolCallFragment(index: index, id: id, function: function)
    }

    private mutating func usage() -> ChatChunk.Usage? {
        var prompt: Int64?
        var completion: Int64?
        var total: Int64?
        let read = object { scanner, key in
            switch key {
            case "prompt_tokens":
                prompt = scanner.integer()
                return prompt != nil
            case "completion_tokens":
                completion = scanner.integer()
                return completion != nil
            case "total_tokens":
                if scanner.null() { return true }
                total = scanner.integer()
                return total != nil
            default:
                return scanner.skipValue()
            }
        }
        guard read, let prompt, let completion else { return nil }
        return ChatChunk.Usage(promptTokens: prompt, completionTokens: completion, totalTokens: total)
    }

    // MARK: JSON

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        skipWhitespace()
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[position + offset] != word.utf8Start[offset] { return false }
        position += count
        return true
    }

    /// Reads `null` when it comes next.
    private mutating func null() -> Bool { literal("null") }

    /// An object, each member's value read by `member` (false: give up). A key given twice
    /// keeps its first value, as `JSONDecoder` does; the later ones are stepped over.
    private mutating func object(_ member: (inout ChatChunkScanner, String) -> Bool) -> Bool {
        guard consume(UInt8(ascii: "{")) else { return false }
        if consume(UInt8(ascii: "}")) { return true }
        var seen: [String] = []
        while true {
            guard let key = string(), consume(UInt8(ascii: ":")) else { return false }
            if seen.contains(key) {
                guard skipValue() else { return false }
            } else {
                seen.append(key)
                guard member(&self, key) else { return false }
            }
            if consume(UInt8(ascii: ",")) { continue }
            return consume(UInt8(ascii: "}"))
        }
    }

    private mutating func array<Element>(_ element: (inout ChatChunkScanner) -> Element?) -> [Element]? {
        guard consume(UInt8(ascii: "[")) else { return nil }
        var elements: [Element] = []
        if consume(UInt8(ascii: "]")) { return elements }
        while true {
            guard let next = element(&self) else { return nil }
            elements.append(next)
            if consume(UInt8(ascii: ",")) { continue }
            return consume(UInt8(ascii: "]")) ? elements : nil
        }
    }

    /// A string or `null` (`.some(nil)`); nil when it is neither.
    private mutating func optionalString() -> String?? {
        if null() { return .some(nil) }
        return string().map { .some($0) }
    }

    private mutating func string() -> String? {
        guard consume(UInt8(ascii: "\"")) else { return nil }
        let start = position
        // The common case: no escapes, so the bytes between the quotes are the string.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                defer { position += 1 }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            position += 1
        }
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\\") else { return nil }
        var decoded = Array(bytes[start..<position])
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: decoded, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard position < bytes.count else { return nil }
                let escape = bytes[position]
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(escape)
                case UInt8(ascii: "b"): decoded.append(0x08)
                case UInt8(ascii: "f"): decoded.append(0x0C)
                case UInt8(ascii: "n"): decoded.append(0x0A)
                case UInt8(ascii: "r"): decoded.append(0x0D)
                case UInt8(ascii: "t"): decoded.append(0x09)
                case UInt8(ascii: "u"):
                    guard let scalar = unicodeEscape() else { return nil }
                    decoded.append(contentsOf: String(Character(scalar)).utf8)
                default: return nil
                }
            default:
                guard byte >= 0x20 else { return nil }
                decoded.append(byte)
            }
        }
        return nil
    }

    /// The scalar of a `\uXXXX` escape (the `\u` read), joining a surrogate pair; nil for a
    /// lone surrogate, which `JSONDecoder` then judges.
    private mutating func unicodeEscape() -> Unicode.Scalar? {
        guard let first = hexQuad() else { return nil }
        if (0xD800..<0xDC00).contains(first) {
            guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
            else { return nil }
            position += 2
            guard let second = hexQuad(), (0xDC00..<0xE000).contains(second) else { return nil }
            return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
        }
        return Unicode.Scalar(first)
    }

    private mutating func hexQuad() -> UInt32? {
        guard position + 4 <= bytes.count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            position += 1
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// A whole number that fits in 64 bits; nil for anything else (a fraction, an exponent).
    private mutating func integer() -> Int64? {
        skipWhitespace()
        let negative = position < bytes.count && bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        let start = position
        var value: Int64 = 0
        while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
            let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
            let (added, overflowAdding) = shifted.addingReportingOverflow(Int64(bytes[position] - UInt8(ascii: "0")))
            guard !overflow, !overflowAdding else { return nil }
            value = added
            position += 1
        }
        guard position > start, position - start == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) {
            return nil
        }
        return negative ? -value : value
    }

    /// Steps over one value of any type; false when it is not valid JSON.
    private mutating func skipValue(depth: Int = 0) -> Bool {
        guard depth < 64 else { return false }
        skipWhitespace()
        guard position < bytes.count else { return false }
        switch bytes[position] {
        case UInt8(ascii: "\""):
            return string() != nil
        case UInt8(ascii: "{"):
            return object { scanner, _ in scanner.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            return array { scanner in scanner.skipValue(depth: depth + 1) ? () : nil } != nil
        case UInt8(ascii: "t"):
            return literal("true")
        case UInt8(ascii: "f"):
            return literal("false")
        case UInt8(ascii: "n"):
            return literal("null")
        default:
            return number()
        }
    }

    /// Steps over a JSON number.
    private mutating func number() -> Bool {
        let start = position
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        let digits = { (scanner: inout ChatChunkScanner) -> Int in
            let from = scanner.position
            while scanner.position < scanner.bytes.count,
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(scanner.bytes[scanner.position])
            {
                scanner.position += 1
            }
            return scanner.position - from
        }
        guard digits(&self) > 0 else { return false }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits(&self) > 0 else { return false }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard digits(&self) > 0 else { return false }
        }
        return position > start
    }
}
