import BedsideCore
import Tracing

/// One turn in progress: performs the machine's actions, starting model requests and tools as
/// children of the turn's task group, and reports what they do as ``TurnInput``s.
///
/// Each step's span starts and ends where its event is emitted, with the same clock reading, so
/// the live events and the trace cannot disagree.
struct TurnRun: Sendable {
    let driver: AgentDriver
    let clock: ElapsedClock
    let trace: TurnTrace
    let messageID: String
    let inputs: AsyncStream<TurnInput>.Continuation
    let emit: @Sendable (AgentEvent, EventSpan?) -> Void

    /// Starts the turn timeout and the listing of tools, whose answer starts the machine.
    func startTimeoutAndToolListing(in group: inout DiscardingTaskGroup) {
        let limit = driver.turnTimeout
        group.addTask { [clock, inputs] in
            do { try await clock.sleep(for: limit) } catch { return }
            inputs.yield(.machine(.fail(.turnTimedOut(limit: limit))))
        }
        group.addTask { [tools = driver.tools, inputs] in
            do {
                inputs.yield(.toolsListed(try await tools.definitions()))
            } catch {
                guard !Task.isCancelled else { return }
                inputs.yield(.machine(.fail(.toolsUnavailable(message: String(describing: error)))))
            }
        }
    }

    /// Feeds one input to the machine and performs its actions; returns the turn's end, if any.
    func handle(
        _ input: AgentMachine.Input,
        machine: inout AgentMachine,
        in group: inout DiscardingTaskGroup
    ) -> AgentMachine.TurnEnd? {
        let now = clock.elapsed()
        if trace.tracing.captureContent, case .modelEvent(.textDelta(let text)) = input { trace.recordText(text) }
        let actions = machine.handle(input, at: now)
        // Tool results that come with the turn's end are calls the end stopped.
        let endsTurn = actions.contains { if case .endTurn = $0 { true } else { false } }
        for action in actions {
            switch action {
            case .requestModel(let request):
                let (span, stamp) = trace.startChat(request, model: driver.model, at: now)
                emit(.modelCallStarted(model: request.model, provider: driver.model.providerName, at: now), stamp)
                startModelRequest(request, in: span.context, group: &group)
            case .emitTextDelta(let text):
                emit(.textDelta(text, messageID: messageID), trace.chatSpan)
            case .reportModelResponse(let report):
                let stamp = trace.endChat(report, toolCalls: Self.toolCalls(in: actions))
                emit(.modelCallEnded(report), stamp)
            case .runTool(let id, let name, let arguments):
                var writer = JSONWriter()
                writer.value(arguments)
                let (span, stamp) = trace.startTool(id: id, name: name, arguments: writer.text, at: now)
                emit(.toolCallStarted(id: id, name: name, arguments: .json(arguments)), stamp)
                startTool(id: id, name: name, arguments: arguments, in: span.context, group: &group)
            case .rejectToolCall(let call):
                let (_, stamp) = trace.startTool(id: call.id, name: call.name, arguments: call.arguments, at: now)
                trace.noteToolError(callID: call.id, type: "invalid_tool_call")
                emit(.toolCallStarted(id: call.id, name: call.name, arguments: .raw(call.arguments)), stamp)
            case .reportToolResult(let report):
                if endsTurn { trace.noteToolError(callID: report.callID, type: "cancelled") }
                if report.beyondLimit { trace.noteToolError(callID: report.callID, type: "tool_call_limit") }
                emit(.toolCallEnded(report), trace.endTool(report))
            case .emitFinalText(let text, let cancelled):
                emit(.finalText(text, messageID: messageID, cancelled: cancelled), trace.chatSpan)
            case .endTurn(let end):
                group.cancelAll()
                trace.endTurn(end, at: now)
                emit(.turnEnded(end), trace.rootSpan)
                return end
            case .ignored:
                break
            }
        }
        return nil
    }

    /// The tool calls a model response asked for, as the actions that follow its report say.
    private static func toolCalls(in actions: [AgentMachine.Action]) -> [ToolCall] {
        actions.compactMap { action in
            switch action {
            case .runTool(let id, let name, let arguments):
                var writer = JSONWriter()
                writer.value(arguments)
                return ToolCall(id: id, name: name, arguments: writer.text)
            case .rejectToolCall(let call):
                return call
            default:
                return nil
            }
        }
    }

    /// Streams one model request into the machine; an error that is not a ``ModelError`` is
    /// reported as ``ModelError/Code/error``.
    private func startModelRequest(
        _ request: ModelRequest,
        in spanContext: InstrumentationContext,
        group: inout DiscardingTaskGroup
    ) {
        group.addTask { [model = driver.model, inputs] in
            do {
                // In the `chat` span's context, so the HTTP client's span and `traceparent` follow it.
                try await InstrumentationContext.withValue(spanContext) {
                    try await model.stream(request) { event in inputs.yield(.machine(.modelEvent(event))) }
                }
                inputs.yield(.machine(.modelStreamEnded))
            } catch let error as ModelError {
                inputs.yield(.machine(.modelFailed(error)))
            } catch {
                guard !Task.isCancelled else { return }
                let message = "The model request failed: \(String(describing: error))"
                inputs.yield(.machine(.modelFailed(ModelError(code: .error, message: message))))
            }
        }
    }

    /// Runs one tool call against the per-call timeout and reports whichever ends first.
    private func startTool(
        id: String,
        name: String,
        arguments: JSONValue,
        in spanContext: InstrumentationContext,
        group: inout DiscardingTaskGroup
    ) {
        group.addTask { [tools = driver.tools, limit = driver.toolTimeout, clock, inputs, trace] in
            await withTaskGroup(of: AgentMachine.ToolOutcome?.self) { race in
                race.addTask {
                    do {
                        // Tools that audit see which call they serve; the turn set the session.
                        var context = ToolCallContext.current
                        context?.toolCallID = id
                        // In the `execute_tool` span's context: client spans of the tool nest beneath it.
                        return .output(
                            try await InstrumentationContext.withValue(spanContext) {
                                try await ToolCallContext.$current.withValue(context) {
                                    try await tools.call(name, arguments: arguments)
                                }
                            }
                        )
                    } catch {
                        return Task.isCancelled ? nil : .failed(message: String(describing: error))
                    }
                }
                race.addTask {
                    do { try await clock.sleep(for: limit) } catch { return nil }
                    return .timedOut(after: limit)
                }
                // Reported before the loser is awaited, so a tool slow to stop delays nothing.
                let outcome = await race.next() ?? nil
                race.cancelAll()
                switch outcome {
                case .timedOut: trace.noteToolError(callID: id, type: "timeout")
                case .failed: trace.noteToolError(callID: id, type: "tool_error")
                default: break
                }
                if let outcome { inputs.yield(.machine(.toolFinished(callID: id, outcome))) }
            }
        }
    }
}
