public import BedsideCore

extension AgentMachine {
    /// Something that happened to a turn, fed to ``AgentMachine/handle(_:at:)`` by the driver.
    public enum Input: Sendable, Hashable {
        /// The turn begins: the session's earlier messages (oldest first, already trimmed to
        /// the history budget), the user's message and the tools the model may call.
        case start(history: [ChatMessage], userMessage: String, tools: [ToolDefinition])
        /// The model request in flight streamed an event.
        case modelEvent(ModelStreamEvent)
        /// The model request in flight finished streaming without an error.
        case modelStreamEnded
        /// The model request in flight failed.
        case modelFailed(ModelError)
        /// A tool call that the machine asked for with ``Action/runTool(id:name:arguments:)``
        /// finished.
        case toolFinished(callID: String, ToolOutcome)
        /// The turn was cancelled; `reason` is the wire reason (`cancelled_by_user`, `shutdown`).
        case cancel(reason: String)
        /// The driver gave up on the turn: the turn timeout passed, or the tools could not be
        /// listed. Ends the turn failed from any state but the end.
        case fail(Failure)
    }

    /// How a tool call ended, as the driver saw it.
    public enum ToolOutcome: Sendable, Hashable {
        /// The tool answered; its output may itself report an error.
        case output(ToolOutput)
        /// The tool threw; `message` says why, and is shown to the model.
        case failed(message: String)
        /// The tool did not answer within the per-call timeout and was stopped.
        case timedOut(after: Duration)
    }
}
