import MCP

/// Decides which of a server's tools the model sees, and under which name.
///
/// A tool is offered when it is read-only: its `readOnlyHint` annotation says so, or (with no
/// annotation saying otherwise) its name starts with a reading verb such as `read`, `get`,
/// `list`, `search`, `find` or `validate`. Any other tool is offered only when the server's
/// `allowTools` names it (or is `["*"]`).
enum ToolExposure {
    static let readingVerbs: Set<String> = [
        "read", "get", "list", "search", "find", "validate", "fetch", "query", "describe", "lookup", "view", "show",
        "count", "check", "explain",
    ]

    static func isOffered(_ tool: Tool, allowTools: Set<String>) -> Bool {
        if allowTools.contains("*") || allowTools.contains(tool.name) { return true }
        return isReadOnly(tool)
    }

    static func isReadOnly(_ tool: Tool) -> Bool {
        if let hint = tool.annotations.readOnlyHint { return hint }
        if tool.annotations.destructiveHint == true { return false }
        return readingVerbs.contains(firstWord(of: tool.name))
    }

    /// The first word of `read-fhir-resource`, `search_patients` or `getVitals`, lowercased.
    static func firstWord(of name: String) -> String {
        var word = ""
        for character in name {
            if character == "-" || character == "_" || character == "." || character == "/" || character == " " { break }
            if character.isUppercase, !word.isEmpty { break }
            word.append(character)
        }
        return word.lowercased()
    }

    /// The name the model calls a server's tool by: `server__tool`, with characters OpenAI does
    /// not accept replaced by `_`, cut to 64 characters with a short hash when longer.
    static func offeredName(server: String, tool: String) -> String {
        let raw = "\(sanitize(server))__\(sanitize(tool))"
        guard raw.count > 64 else { return raw }
        var hash: UInt32 = 2_166_136_261
        for byte in "\(server)/\(tool)".utf8 {
            hash = (hash ^ UInt32(byte)) &* 16_777_619
        }
        let suffix = String(hash, radix: 16)
        return String(raw.prefix(64 - suffix.count - 1)) + "_" + suffix
    }

    static func sanitize(_ text: String) -> String {
        String(
            text.map { character in
                character.isASCII && (character.isLetter || character.isNumber || character == "_" || character == "-")
                    ? character : "_"
            }
        )
    }
}
