public import BedsideCore

extension AgentMachine {
    /// Something the driver must do, returned by ``AgentMachine/handle(_:at:)`` in order.
    public enum Action: Sendable, Hashable {
        /// Start a model request (and emit `openai_call`); feed its events back as
        /// ``Input/modelEvent(_:)``, then ``Input/modelStreamEnded`` or ``Input/modelFailed(_:)``.
        case requestModel(ModelRequest)
        /// Emit a streaming `assistant` delta.
        case emitTextDelta(String)
        /// Emit `openai_response` for the request that just ended.
        case reportModelResponse(ModelResponseReport)
        /// Emit `tool_call` and run the tool, concurrently with the other calls of the same
        /// round; feed its end back as ``Input/toolFinished(callID:_:)``.
        case runTool(id: String, name: String, arguments: JSONValue)
        /// Emit `tool_call` for a call that will not run (its arguments as the raw string): it
        /// names no offered tool, its arguments are not a JSON object, or it is beyond the
        /// response's tool call limit. The machine has already answered it, and a
        /// ``reportToolResult(_:)`` with the reason follows.
        case rejectToolCall(ToolCall)
        /// Emit `tool_result`.
        case reportToolResult(ToolResultReport)
        /// Emit the final `assistant` frame with the full reply; `cancelled` when the turn was
        /// cut short.
        case emitFinalText(String, cancelled: Bool)
        /// The turn is over: emit its end event and stop any model request or tool still running.
        /// Every later input is ignored.
        case endTurn(TurnEnd)
        /// The input made no sense in the machine's state and changed nothing; worth a debug log,
        /// never a crash. The text names the input and the state, never content.
        case ignored(String)
    }

    /// One model request's outcome, for its `openai_response` event.
    public struct ModelResponseReport: Sendable, Hashable {
        public var model: String
        /// The last usage the request reported; zero when it reported none.
        public var usage: TokenUsage
        public var duration: Duration
        public var finishReason: FinishReason?

        public init(model: String, usage: TokenUsage, duration: Duration, finishReason: FinishReason?) {
            self.model = model
            self.usage = usage
            self.duration = duration
            self.finishReason = finishReason
        }
    }

    /// One tool call's outcome, for its `tool_result` event.
    public struct ToolResultReport: Sendable, Hashable {
        public var callID: String
        public var toolName: String
        /// What the model reads; `isError` when the tool failed, timed out or was not run.
        public var output: ToolOutput
        public var duration: Duration
        /// The MCP server of the tool; nil for built-in tools.
        public var server: String?
        /// Whether the call named one of the tools offered in this turn; false for a name the
        /// model made up (metrics label those `other`, so a model cannot invent label values).
        public var namesOfferedTool: Bool
        /// Whether the call was not run because its response asked for more calls than
        /// ``Configuration/maxToolCallsPerResponse``.
        public var beyondLimit: Bool

        public init(
            callID: String,
            toolName: String,
            output: ToolOutput,
            duration: Duration,
            server: String? = nil,
            namesOfferedTool: Bool = true,
            beyondLimit: Bool = false
        ) {
            self.callID = callID
            self.toolName = toolName
            self.output = output
            self.duration = duration
            self.server = server
            self.namesOfferedTool = namesOfferedTool
            self.beyondLimit = beyondLimit
        }
    }
}
