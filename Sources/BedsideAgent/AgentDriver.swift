public import BedsideCore
import Tracing

/// Runs one turn of the agent: performs each action of an ``AgentMachine`` and feeds back what
/// happened, emitting every step as an ``AgentEvent``.
///
/// Model requests stream into the machine as they arrive. The tool calls of one response run
/// concurrently, each stopped after ``toolTimeout``; a tool that throws or times out becomes an
/// error result the model reads. A turn still running after ``turnTimeout`` ends failed.
/// Cancelling the task that runs ``run(history:userMessage:messageID:cancellationReason:emit:)``
/// cancels the model request and the tools in flight at once, gives the machine `cancel`, and
/// emits what it decides: the partial reply marked cancelled, then the turn's end.
///
/// What it deliberately does not do: decide anything (the machine does), wait for the event
/// sink, or emit after ``AgentEvent/turnEnded(_:)``. Every event is emitted from the one task
/// that feeds the machine, so the order of events is the order of the machine's actions. It
/// returns once the cancelled model request and tools have stopped, which the ``LanguageModel``
/// and ``Toolset`` contracts promise is prompt.
///
/// ```swift
/// let driver = AgentDriver(configuration: .init(model: model.modelName), model: model, tools: tools)
/// let end = await driver.run(history: [], userMessage: "Latest HbA1c?", messageID: "m-1") { event in
///     outbox.send(event)
/// }
/// ```
public struct AgentDriver: Sendable {
    public let configuration: AgentMachine.Configuration
    public let model: any LanguageModel
    public let tools: any Toolset
    /// How long one tool call may run before it is stopped and reported as an error. Default: 30 s.
    public let toolTimeout: Duration
    /// How long a whole turn may run before it ends failed. Default: 5 minutes.
    public let turnTimeout: Duration
    /// The clock that times the turn, its model requests and tools, and both timeouts.
    public let clock: any Clock<Duration>
    /// Where the turn's spans go and whether they carry content. Default: the bootstrapped tracer,
    /// no content.
    public let tracing: AgentTracing

    public init(
        configuration: AgentMachine.Configuration,
        model: any LanguageModel,
        tools: any Toolset,
        toolTimeout: Duration = .seconds(30),
        turnTimeout: Duration = .seconds(300),
        clock: any Clock<Duration> = ContinuousClock(),
        tracing: AgentTracing = AgentTracing()
    ) {
        self.configuration = configuration
        self.model = model
        self.tools = tools
        self.toolTimeout = toolTimeout
        self.turnTimeout = turnTimeout
        self.clock = clock
        self.tracing = tracing
    }

    /// Runs one turn and returns how it ended.
    ///
    /// - Parameters:
    ///   - history: the session's earlier messages, oldest first, already trimmed to budget.
    ///   - userMessage: what the person asked.
    ///   - messageID: the id of the assistant reply, carried by every text event.
    ///   - cancellationReason: read when the task is cancelled, for the turn's end
    ///     (`cancelled_by_user`, `shutdown`).
    ///   - emit: receives every event in order; called synchronously, so it must not block.
    public func run(
        history: [ChatMessage],
        userMessage: String,
        messageID: String,
        cancellationReason: @escaping @Sendable () -> String = { "cancelled_by_user" },
        emit: @escaping @Sendable (AgentEvent) -> Void
    ) async -> AgentMachine.TurnEnd {
        await run(
            history: history,
            userMessage: userMessage,
            messageID: messageID,
            cancellationReason: cancellationReason,
            emitWithSpan: { event, _ in emit(event) }
        )
    }

    /// Runs one turn and returns how it ended, giving every event the span it belongs to.
    ///
    /// The turn is the span `invoke_agent bedside`, a child of the task's current span if any;
    /// its `gen_ai.conversation.id` is the session of ``ToolCallContext/current``. Model request
    /// events carry their `chat` span, tool events their `execute_tool` span, and the turn's end
    /// the root; the span is nil when the tracer propagates no ids (tracing off).
    public func run(
        history: [ChatMessage],
        userMessage: String,
        messageID: String,
        cancellationReason: @escaping @Sendable () -> String = { "cancelled_by_user" },
        emitWithSpan emit: @escaping @Sendable (AgentEvent, EventSpan?) -> Void
    ) async -> AgentMachine.TurnEnd {
        let (inputs, continuation) = AsyncStream.makeStream(of: TurnInput.self)
        let clock = ElapsedClock(clock)
        let servers = ToolServers()
        let trace = TurnTrace(tracing: tracing, clock: clock, model: model, context: ToolCallContext.current)
        let turn = TurnRun(
            driver: self,
            clock: clock,
            trace: trace,
            messageID: messageID,
            inputs: continuation,
            emit: { event, span in emit(servers.annotate(event), span) }
        )
        // Everything the turn starts (listing tools, requests, tools) runs beneath its root span.
        return await InstrumentationContext.withValue(trace.root.context) {
            await runMachine(
                turn,
                servers: servers,
                inputs: inputs,
                continuation: continuation,
                history: history,
                userMessage: userMessage,
                cancellationReason: cancellationReason
            )
        }
    }

    private func runMachine(
        _ turn: TurnRun,
        servers: ToolServers,
        inputs: AsyncStream<TurnInput>,
        continuation: AsyncStream<TurnInput>.Continuation,
        history: [ChatMessage],
        userMessage: String,
        cancellationReason: @escaping @Sendable () -> String
    ) async -> AgentMachine.TurnEnd {
        await withDiscardingTaskGroup(returning: AgentMachine.TurnEnd.self) { group in
            defer {
                continuation.finish()
                group.cancelAll()
            }
            var machine = AgentMachine(configuration: configuration)
            turn.startTimeoutAndToolListing(in: &group)
            var pending = inputs.makeAsyncIterator()
            // Inputs that arrive after cancellation are dropped: the machine hears `cancel` next.
            while !Task.isCancelled, let next = await pending.next(), !Task.isCancelled {
                let input: AgentMachine.Input
                switch next {
                case .toolsListed(let definitions):
                    servers.record(definitions)
                    input = .start(history: history, userMessage: userMessage, tools: definitions)
                case .machine(let machineInput):
                    input = machineInput
                }
                if let end = turn.handle(input, machine: &machine, in: &group) { return end }
            }
            // The machine ends every turn that has not ended when it hears `cancel`.
            return turn.handle(.cancel(reason: cancellationReason()), machine: &machine, in: &group)!
        }
    }
}

/// What the driver's children report to the task that feeds the machine.
enum TurnInput: Sendable {
    /// The toolset listed its tools: the turn can start.
    case toolsListed([ToolDefinition])
    case machine(AgentMachine.Input)
}
