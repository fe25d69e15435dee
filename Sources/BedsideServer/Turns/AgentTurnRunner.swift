public import BedsideAgent
public import BedsideCore
import BedsideProtocol
import Foundation

/// Answers each message with the agent: the model and tools run by ``AgentDriver``, every step
/// emitted as a session event the moment it happens, earlier turns of the session sent along
/// as history.
///
/// ```swift
/// let runner = AgentTurnRunner(model: openAIModel, tools: fhirTools)
/// let server = buildApplication(configuration: .init(), dependencies: .init(store: store, runner: runner, logger: logger))
/// ```
public struct AgentTurnRunner: TurnRunner {
    public let model: any LanguageModel
    public let tools: any Toolset
    public let configuration: AgentMachine.Configuration
    /// How long one tool call may run. Default: 30 s.
    public let toolTimeout: Duration
    /// How long a whole turn may run. Default: 5 minutes.
    public let turnTimeout: Duration
    /// Characters of earlier conversation sent as history; the oldest messages go first. Default: 24,000.
    public let historyCharacterBudget: Int
    /// Where the turn's spans go and whether they carry content. Default: the bootstrapped
    /// tracer (no-op when tracing is off), no content.
    public let tracing: AgentTracing

    public init(
        model: any LanguageModel,
        tools: any Toolset,
        configuration: AgentMachine.Configuration? = nil,
        toolTimeout: Duration = .seconds(30),
        turnTimeout: Duration = .seconds(300),
        historyCharacterBudget: Int = 24_000,
        tracing: AgentTracing = AgentTracing()
    ) {
        self.tracing = tracing
        self.model = model
        self.tools = tools
        self.configuration = configuration ?? AgentMachine.Configuration(model: model.modelName)
        self.toolTimeout = toolTimeout
        self.turnTimeout = turnTimeout
        self.historyCharacterBudget = historyCharacterBudget
    }

    public var description: String { "agent with \(model.providerName) model \(model.modelName)" }

    public var languageModel: (any LanguageModel)? { model }

    public func run(_ turn: TurnContext) async throws -> TurnUsage {
        let history = try await turn.earlierMessages(characterBudget: historyCharacterBudget)
        let driver = AgentDriver(
            configuration: configuration,
            model: model,
            tools: tools,
            toolTimeout: toolTimeout,
            turnTimeout: turnTimeout,
            tracing: tracing
        )
        let context = ToolCallContext(sessionID: turn.sessionID, turnID: turn.turnID)
        let end = await ToolCallContext.$current.withValue(context) {
            await driver.run(
                history: history,
                userMessage: turn.content,
                messageID: "msg-\(turn.turnID)",
                cancellationReason: { turn.cancellationReason },
                emitWithSpan: { event, span in
                    Self.record(event, provider: model.providerName, in: turn.metrics)
                    if case .turnEnded = event, let span {
                        turn.setTurnSpan(traceID: span.traceID, spanID: span.spanID)
                    }
                    guard let payload = Self.payload(for: event) else { return }
                    // A step's events are stamped with its span's start and end: the same clock readings.
                    var timestamp: Timestamp?
                    switch event {
                    case .modelCallStarted, .toolCallStarted, .modelCallEnded, .toolCallEnded:
                        timestamp = span.map { Timestamp(microseconds: Int64(($0.endNanoseconds ?? $0.startNanoseconds) / 1_000)) }
                    default:
                        break
                    }
                    turn.emit(payload, traceID: span?.traceID, spanID: span?.spanID, timestamp: timestamp)
                }
            )
        }
        switch end.outcome {
        case .completed:
            return TurnUsage(promptTokens: end.usage.promptTokens, completionTokens: end.usage.completionTokens)
        case .cancelled:
            throw CancellationError()
        case .failed(let failure):
            throw TurnFailure(code: Self.code(for: failure), message: failure.message)
        }
    }

    /// Records the metrics of a model request or tool call; a call beyond the per-response
    /// limit also counts as `bedside_limit_refusals_total{limit="tool_calls_per_response"}`.
    static func record(_ event: AgentEvent, provider: String, in metrics: BedsideMetrics) {
        switch event {
        case .modelCallEnded(let report):
            metrics.modelCall(
                provider: provider,
                model: report.model,
                duration: report.duration,
                inputTokens: report.usage.promptTokens,
                outputTokens: report.usage.completionTokens
            )
        case .toolCallEnded(let report):
            metrics.toolCall(
                name: report.toolName,
                offered: report.namesOfferedTool,
                duration: report.duration,
                isError: report.output.isError
            )
            if report.beyondLimit { metrics.limitReached(.toolCallsPerResponse) }
        default:
            break
        }
    }

    /// The session event an agent step becomes; nil for the turn's end, which the session emits.
    static func payload(for event: AgentEvent) -> EventPayload? {
        switch event {
        case .modelCallStarted(let model, let provider, _):
            return .openaiCall(model: model, provider: provider)
        case .modelCallEnded(let report):
            return .openaiResponse(
                ModelResponseEvent(
                    model: report.model,
                    promptTokens: report.usage.promptTokens,
                    completionTokens: report.usage.completionTokens,
                    totalTokens: report.usage.totalTokens,
                    durationMilliseconds: report.duration.milliseconds,
                    finishReason: report.finishReason?.rawValue
                )
            )
        case .textDelta(let text, let messageID):
            return .assistant(AssistantEvent(content: text, streaming: true, messageID: messageID))
        case .finalText(let text, let messageID, let cancelled):
            return .assistant(AssistantEvent(content: text, streaming: false, messageID: messageID, cancelled: cancelled))
        case .toolCallStarted(let id, let name, let arguments, let server):
            let shown: JSONValue =
                switch arguments {
                case .json(let value): value
                case .raw(let text): .string(text)
                }
            return .toolCall(toolCallID: id, toolName: name, arguments: shown, server: server)
        case .toolCallEnded(let report):
            return .toolResult(
                ToolResultEvent(
                    toolCallID: report.callID,
                    toolName: report.toolName,
                    result: report.output.content,
                    durationMilliseconds: report.duration.milliseconds,
                    isError: report.output.isError,
                    server: report.server
                )
            )
        case .turnEnded:
            return nil
        }
    }

    static func code(for failure: AgentMachine.Failure) -> ErrorCode {
        switch failure {
        case .model(let error): error.code == .unavailable ? .llmUnavailable : .llmError
        case .toolsUnavailable: .toolError
        case .tooManyModelRequests, .turnTimedOut: .turnFailed
        }
    }
}
