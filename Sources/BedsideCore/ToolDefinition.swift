/// A tool as the model sees it: its name, what it does, and the JSON Schema of its arguments.
public struct ToolDefinition: Sendable, Hashable {
    /// The name the model uses to call the tool (`[A-Za-z0-9_-]`, at most 64 characters for
    /// OpenAI-compatible providers).
    public var name: String
    /// What the tool does and when to use it, written for the model.
    public var description: String
    /// The JSON Schema of the arguments object.
    public var parameters: JSONValue
    /// The MCP server the tool comes from, as named in the configuration; nil for built-in tools.
    public var server: String?

    public init(name: String, description: String, parameters: JSONValue, server: String? = nil) {
        self.name = name
        self.description = description
        self.parameters = parameters
        self.server = server
    }
}
