import BedsideCore

/// The agent loop of one turn as a pure state machine: inputs in, actions out.
///
/// The machine asks for a model request, turns the streamed response into text deltas and
/// assembled tool calls, asks for every tool call of a response to run at once, sends the
/// results back to the model, and repeats until the model answers, the request limit is
/// reached, a request fails or the turn is cancelled. It sums tokens and measures durations
/// from the times the driver passes in.
///
/// What it deliberately does not do: I/O, waiting, reading a clock or running anything. The
/// async driver performs each ``Action`` and feeds what happens back as an ``Input``, so every
/// transition can be tested by feeding inputs and reading actions.
///
/// ```swift
/// var machine = AgentMachine(configuration: .init(model: "gpt-4o-mini"))
/// let actions = machine.handle(.start(history: [], userMessage: "Latest HbA1c?", tools: tools), at: .zero)
/// // actions == [.requestModel(ModelRequest(model: "gpt-4o-mini", messages: [.system(…), .user("Latest HbA1c?")], tools: tools, maxOutputTokens: 4096))]
/// ```
public struct AgentMachine: Sendable {
    public let configuration: Configuration

    var state: State = .idle
    /// The conversation sent with the next model request.
    var messages: [ChatMessage] = []
    var tools: [ToolDefinition] = []
    /// Every text delta of the turn so far: the reply the user sees.
    var reply = ""
    var usage = TokenUsage.zero
    var modelRequests = 0
    var startedAt: Duration = .zero

    enum State: Sendable {
        case idle
        case streaming(ModelCall)
        case runningTools(ToolRound)
        case finished
    }

    /// The model request in flight and what it has streamed so far.
    struct ModelCall: Sendable {
        var startedAt: Duration
        var text = ""
        var toolCalls = ToolCallAssembler()
        var usage = TokenUsage.zero
        var finishReason: FinishReason?
    }

    /// The tool calls of one model response and the results that are in.
    struct ToolRound: Sendable {
        var calls: [ToolCall]
        var startedAt: Duration
        var results: [String: ToolOutput] = [:]

        var isComplete: Bool { results.count == calls.count }
    }

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Whether the turn has ended; every input after that is ignored.
    public var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    /// Advances the machine by one input and returns what the driver must do, in order.
    ///
    /// - Parameter time: the driver's clock when the input happened, as the time elapsed since
    ///   any fixed origin; the machine only ever subtracts two of these.
    public mutating func handle(_ input: Input, at time: Duration) -> [Action] {
        switch input {
        case .start(let history, let userMessage, let tools):
            return start(history: history, userMessage: userMessage, tools: tools, at: time)
        case .modelEvent(let event):
            return modelEvent(event)
        case .modelStreamEnded:
            return modelStreamEnded(at: time)
        case .modelFailed(let error):
            return modelFailed(error, at: time)
        case .toolFinished(let callID, let outcome):
            return toolFinished(callID: callID, outcome, at: time)
        case .cancel(let reason):
            return cancel(reason: reason, at: time)
        case .fail(let failure):
            return fail(failure, at: time)
        }
    }

    private mutating func start(
        history: [ChatMessage],
        userMessage: String,
        tools: [ToolDefinition],
        at time: Duration
    ) -> [Action] {
        guard case .idle = state else { return [.ignored("start while \(stateName)")] }
        startedAt = time
        self.tools = tools
        messages = [.system(configuration.systemPrompt)] + history + [.user(userMessage)]
        return [requestModel(at: time)]
    }

    private mutating func cancel(reason: String, at time: Duration) -> [Action] {
        if let ignored = settleBeforeEnding("cancel", at: time) { return [ignored] }
        var actions = stoppedToolResults(because: "the turn was cancelled", at: time)
        if !reply.isEmpty { actions.append(.emitFinalText(reply, cancelled: true)) }
        actions.append(end(.cancelled(reason: reason), at: time))
        return actions
    }

    /// Ends the turn failed; the usage of a request in flight still counts.
    private mutating func fail(_ failure: Failure, at time: Duration) -> [Action] {
        if let ignored = settleBeforeEnding("failure", at: time) { return [ignored] }
        let why =
            if case .turnTimedOut(let limit) = failure { "the turn ran out of time (\(limit.spokenForm))" } else { "the turn failed" }
        return stoppedToolResults(because: why, at: time) + [end(.failed(failure), at: time)]
    }

    /// Error results for the calls still running when the turn ends early, so that every
    /// `tool_call` the client saw gets its `tool_result`.
    private func stoppedToolResults(because why: String, at time: Duration) -> [Action] {
        guard case .runningTools(let round) = state else { return [] }
        return round.calls.filter { round.results[$0.id] == nil }.map { call in
            .reportToolResult(
                ToolResultReport(
                    callID: call.id,
                    toolName: call.name,
                    output: ToolOutput(content: "The tool \(call.name) was stopped: \(why).", isError: true),
                    duration: time - round.startedAt
                )
            )
        }
    }

    /// Prepares an early end (cancel, failure): counts the usage of a request in flight, or
    /// starts the clock of a turn that never started. Returns the `ignored` action when the turn
    /// has already ended.
    private mutating func settleBeforeEnding(_ what: String, at time: Duration) -> Action? {
        switch state {
        case .finished:
            return .ignored("\(what) while \(stateName)")
        case .idle:
            startedAt = time
        case .streaming(let call):
            usage += call.usage
        case .runningTools:
            break
        }
        return nil
    }

    /// Starts the next model request with the conversation so far.
    mutating func requestModel(at time: Duration) -> Action {
        modelRequests += 1
        state = .streaming(ModelCall(startedAt: time))
        return .requestModel(
            ModelRequest(model: configuration.model, messages: messages, tools: tools, maxOutputTokens: configuration.maxOutputTokens)
        )
    }

    /// Ends the turn; nothing after this changes the machine.
    mutating func end(_ outcome: Outcome, at time: Duration) -> Action {
        state = .finished
        return .endTurn(TurnEnd(outcome: outcome, usage: usage, modelRequests: modelRequests, duration: time - startedAt))
    }

    /// The state's name for ``Action/ignored(_:)``.
    var stateName: String {
        switch state {
        case .idle: "idle"
        case .streaming: "streaming model request \(modelRequests)"
        case .runningTools: "running tools of model request \(modelRequests)"
        case .finished: "finished"
        }
    }
}
