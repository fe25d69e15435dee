/// Several toolsets offered as one: the built-in FHIR tools first, then each MCP server's.
///
/// On a name collision the earlier toolset keeps the name and the later tool is not offered,
/// so a remote server can never shadow a built-in tool. A toolset whose listing fails is left
/// out of that listing rather than failing the whole turn.
///
/// ```swift
/// let tools = CompositeToolset([fhirTools, mcpTools])
/// ```
public struct CompositeToolset: Toolset {
    private let parts: [any Toolset]

    public init(_ parts: [any Toolset]) {
        self.parts = parts
    }

    public func definitions() async throws -> [ToolDefinition] {
        try await owners().map(\.definition)
    }

    public func call(_ name: String, arguments: JSONValue) async throws -> ToolOutput {
        for owner in try await owners() where owner.definition.name == name {
            return try await parts[owner.part].call(name, arguments: arguments)
        }
        throw NoTools.ToolUnavailable(name: name)
    }

    private func owners() async throws -> [(definition: ToolDefinition, part: Int)] {
        var seen = Set<String>()
        var result: [(definition: ToolDefinition, part: Int)] = []
        for (index, part) in parts.enumerated() {
            let definitions: [ToolDefinition]
            do {
                definitions = try await part.definitions()
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                // The first toolset (the built-in one) is essential: its failure is the turn's.
                if index == 0 { throw error }
                continue
            }
            for definition in definitions where seen.insert(definition.name).inserted {
                result.append((definition, index))
            }
        }
        return result
    }
}
