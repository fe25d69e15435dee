import BedsideCore

/// Puts a model response's tool calls together from their streamed fragments, by index.
///
/// The first id and name seen for an index win (some providers repeat them on every fragment);
/// argument fragments are appended in arrival order. A call that never got an id, or whose id
/// repeats an earlier call's, gets `call_<request>_<index>` so that every result can be matched.
struct ToolCallAssembler: Sendable {
    private struct Part: Sendable {
        var id: String?
        var name: String?
        var arguments = ""
    }

    private var parts: [Int: Part] = [:]

    var isEmpty: Bool { parts.isEmpty }

    mutating func add(_ delta: ToolCallDelta) {
        var part = parts[delta.index] ?? Part()
        if part.id == nil, let id = delta.id, !id.isEmpty { part.id = id }
        if part.name == nil, let name = delta.name, !name.isEmpty { part.name = name }
        part.arguments += delta.argumentsFragment
        parts[delta.index] = part
    }

    /// The assembled calls in index order; a call with no name has an empty `name`.
    func calls(request: Int) -> [ToolCall] {
        var seen: Set<String> = []
        return parts.keys.sorted().map { index in
            let part = parts[index]!
            var id = part.id ?? "call_\(request)_\(index)"
            if !seen.insert(id).inserted {
                id = "call_\(request)_\(index)"
                seen.insert(id)
            }
            return ToolCall(id: id, name: part.name ?? "", arguments: part.arguments)
        }
    }
}
