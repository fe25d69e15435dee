public import BedsideCore

/// One step of a turn as it happens, in no wire format: what the server maps to session events.
///
/// The driver emits these in the order the machine decided them; ``turnEnded(_:)`` is always
/// the last event of a turn.
public enum AgentEvent: Sendable, Hashable {
    /// A model request started; `at` is the time since the turn began on the driver's clock.
    case modelCallStarted(model: String, provider: String, at: Duration)
    /// A model request ended: its model, usage, duration and finish reason.
    case modelCallEnded(AgentMachine.ModelResponseReport)
    /// The next piece of the reply's text.
    case textDelta(String, messageID: String)
    /// The whole reply; `cancelled` when the turn was cut short.
    case finalText(String, messageID: String, cancelled: Bool)
    /// A tool call started, or was rejected before running; `server` names the MCP server of
    /// the tool, nil for built-in tools.
    case toolCallStarted(id: String, name: String, arguments: ToolArguments, server: String? = nil)
    /// A tool call ended: what the model reads, whether it is an error, and how long it took.
    case toolCallEnded(AgentMachine.ToolResultReport)
    /// The turn is over: its outcome, token totals and duration.
    case turnEnded(AgentMachine.TurnEnd)

    /// The arguments of a tool call as shown to the user.
    public enum ToolArguments: Sendable, Hashable {
        /// The parsed arguments of a call that runs.
        case json(JSONValue)
        /// The arguments exactly as the model wrote them, for a call rejected because they
        /// are not a JSON object or name no offered tool.
        case raw(String)
    }
}
