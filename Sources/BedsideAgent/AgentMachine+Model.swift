import BedsideCore

extension AgentMachine {
    /// Collects one streamed event of the model request in flight; only text is passed on at once.
    mutating func modelEvent(_ event: ModelStreamEvent) -> [Action] {
        guard case .streaming(var call) = state else { return [.ignored("model event while \(stateName)")] }
        var actions: [Action] = []
        switch event {
        case .textDelta(let text):
            guard !text.isEmpty else { return [] }
            // A later request's text starts a new paragraph of the one reply the user sees, so
            // that the final text is always exactly the deltas joined.
            let delta = call.text.isEmpty && !reply.isEmpty ? "\n\n" + text : text
            call.text += text
            reply += delta
            actions.append(.emitTextDelta(delta))
        case .toolCallDelta(let delta):
            call.toolCalls.add(delta)
        case .usage(let reported):
            call.usage = reported
        case .finish(let reason):
            call.finishReason = reason
        }
        state = .streaming(call)
        return actions
    }

    /// Decides what the finished response was: the answer, or tool calls to run.
    mutating func modelStreamEnded(at time: Duration) -> [Action] {
        guard case .streaming(let call) = state else { return [.ignored("model stream end while \(stateName)")] }
        usage += call.usage
        let report = Action.reportModelResponse(
            ModelResponseReport(
                model: configuration.model,
                usage: call.usage,
                duration: time - call.startedAt,
                finishReason: call.finishReason
            )
        )
        // The answer's final text closes the reply before its request is reported, the order
        // in which the events of a turn are promised: deltas, final text, response, turn end.
        if call.toolCalls.isEmpty {
            messages.append(.assistant(call.text))
            return [.emitFinalText(reply, cancelled: false), report, end(.completed, at: time)]
        }
        var actions = [report]
        // Tools whose results no request could read are not run.
        guard modelRequests < configuration.maxModelRequests else {
            actions.append(end(.failed(.tooManyModelRequests(limit: configuration.maxModelRequests)), at: time))
            return actions
        }
        let calls = call.toolCalls.calls(request: modelRequests)
        messages.append(.assistant(text: call.text.isEmpty ? nil : call.text, toolCalls: calls))
        return actions + startTools(calls, at: time)
    }

    /// Ends the turn failed with the request's error.
    mutating func modelFailed(_ error: ModelError, at time: Duration) -> [Action] {
        guard case .streaming(let call) = state else { return [.ignored("model failure while \(stateName)")] }
        usage += call.usage
        return [end(.failed(.model(error)), at: time)]
    }
}
