/// The tools an agent may call, from one source: the seam between the agent and FHIR tools or
/// MCP servers.
///
/// A tool that cannot do what was asked returns a ``ToolOutput`` with `isError: true`, which
/// the model reads and may correct. Throwing means the tool itself failed (a server that
/// cannot be reached, an unknown tool name); the agent reports that to the model as an error
/// result too, but also to the logs.
///
/// What a toolset deliberately does not do: time calls out or retry them. The agent applies
/// one timeout to every call, whatever its source.
///
/// ```swift
/// let output = try await tools.call("search_conditions", arguments: .object(["patient_id": .string("p-17")]))
/// ```
public protocol Toolset: Sendable {
    /// The tools this toolset offers, with the JSON Schema of their arguments.
    func definitions() async throws -> [ToolDefinition]

    /// Runs the tool `name` with `arguments` (a JSON object) and returns what it answered.
    ///
    /// Calls may run concurrently. When the calling task is cancelled the call stops its work
    /// promptly and throws `CancellationError`.
    func call(_ name: String, arguments: JSONValue) async throws -> ToolOutput
}

/// A toolset with no tools: the model answers from the conversation alone.
public struct NoTools: Toolset {
    public init() {}

    public func definitions() async throws -> [ToolDefinition] { [] }

    public func call(_ name: String, arguments: JSONValue) async throws -> ToolOutput {
        throw ToolUnavailable(name: name)
    }

    /// The model asked for a tool that this toolset does not have.
    public struct ToolUnavailable: Error, CustomStringConvertible {
        public var name: String
        public var description: String { "There is no tool named \(name)." }

        public init(name: String) {
            self.name = name
        }
    }
}
