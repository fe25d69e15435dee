/// The state of one external tool source (an MCP server), as `/ready` reports it.
public struct ToolSourceStatus: Sendable, Hashable {
    /// Where a source stands in its connection life.
    public enum State: String, Sendable, Hashable {
        case connecting
        case ready
        case reconnecting
        case failed
        case disabled
    }

    /// The server's name in the configuration.
    public var name: String
    /// `stdio`, `http` (Streamable HTTP) or `sse` (legacy HTTP+SSE).
    public var transport: String
    public var state: State
    /// How many of its tools are offered to the model.
    public var toolCount: Int
    /// How many tools it lists but are hidden by the read-only rule.
    public var hiddenToolCount: Int
    /// Why the last connection attempt or call failed, if it did.
    public var lastError: String?

    public init(
        name: String,
        transport: String,
        state: State,
        toolCount: Int,
        hiddenToolCount: Int = 0,
        lastError: String? = nil
    ) {
        self.name = name
        self.transport = transport
        self.state = state
        self.toolCount = toolCount
        self.hiddenToolCount = hiddenToolCount
        self.lastError = lastError
    }
}

/// Reports the state of each external tool source, for `/ready`.
public protocol ToolSourceStatusProvider: Sendable {
    func toolSourceStatuses() async -> [ToolSourceStatus]
}
