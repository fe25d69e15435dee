import BedsideCore

/// One turn in progress: performs the machine's actions, starting model requests and tools as
/// children of the turn's task group, and reports what they do as ``TurnInput``s.
struct TurnRun: Sendable {
    let driver: AgentDriver
    let clock: TurnClock
    let messageID: String
    let inputs: AsyncStream<TurnInput>.Continuation
    let emit: @Sendable (AgentEvent) -> Void

    /// Starts the turn timeout and the listing of tools, whose answer starts the machine.
    func startTimeoutAndToolListing(in group: inout DiscardingTaskGroup) {
        let limit = driver.turnTimeout
        group.addTask { [clock, inputs] in
            do { try await clock.sleep(limit) } catch { return }
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
        for action in machine.handle(input, at: now) {
            switch action {
            case .requestModel(let request):
                emit(.modelCallStarted(model: request.model, provider: driver.model.providerName, at: now))
                startModelRequest(request, in: &group)
            case .emitTextDelta(let text):
                emit(.textDelta(text, messageID: messageID))
            case .reportModelResponse(let report):
                emit(.modelCallEnded(report))
            case .runTool(let id, let name, let arguments):
                emit(.toolCallStarted(id: id, name: name, arguments: .json(arguments)))
                startTool(id: id, name: name, arguments: arguments, in: &group)
            case .rejectToolCall(let call):
                emit(.toolCallStarted(id: call.id, name: call.name, arguments: .raw(call.arguments)))
            case .reportToolResult(let report):
                emit(.toolCallEnded(report))
            case .emitFinalText(let text, let cancelled):
                emit(.finalText(text, messageID: messageID, cancelled: cancelled))
            case .endTurn(let end):
                group.cancelAll()
                emit(.turnEnded(end))
                return end
            case .ignored:
                break
            }
        }
        return nil
    }

    /// Streams one model request into the machine; an error that is not a ``ModelError`` is
    /// reported as ``ModelError/Code/error``.
    private func startModelRequest(_ request: ModelRequest, in group: inout DiscardingTaskGroup) {
        group.addTask { [model = driver.model, inputs] in
            do {
                for try await event in model.stream(request) {
                    inputs.yield(.machine(.modelEvent(event)))
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
    private func startTool(id: String, name: String, arguments: JSONValue, in group: inout DiscardingTaskGroup) {
        group.addTask { [tools = driver.tools, limit = driver.toolTimeout, clock, inputs] in
            await withTaskGroup(of: AgentMachine.ToolOutcome?.self) { race in
                race.addTask {
                    do {
                        // Tools that audit see which call they serve; the turn set the session.
                        var context = ToolCallContext.current
                        context?.toolCallID = id
                        return .output(
                            try await ToolCallContext.$current.withValue(context) {
                                try await tools.call(name, arguments: arguments)
                            }
                        )
                    } catch {
                        return Task.isCancelled ? nil : .failed(message: String(describing: error))
                    }
                }
                race.addTask {
                    do { try await clock.sleep(limit) } catch { return nil }
                    return .timedOut(after: limit)
                }
                // Reported before the loser is awaited, so a tool slow to stop delays nothing.
                let outcome = await race.next() ?? nil
                race.cancelAll()
                if let outcome { inputs.yield(.machine(.toolFinished(callID: id, outcome))) }
            }
        }
    }
}
