import BedsideCore

extension AgentMachine {
    /// Asks for every call of a response to run at once; calls that cannot run are answered
    /// with an error result straight away, so the model can correct them. Only the first
    /// ``Configuration/maxToolCallsPerResponse`` calls may run: the rest are answered with an
    /// error that says so.
    mutating func startTools(_ calls: [ToolCall], at time: Duration) -> [Action] {
        var round = ToolRound(calls: calls, startedAt: time)
        var actions: [Action] = []
        let names = Set(tools.map(\.name))
        let limit = configuration.maxToolCallsPerResponse
        for (index, call) in calls.enumerated() {
            let offered = names.contains(call.name)
            let verdict: Result<JSONValue, Rejection> =
                index < limit
                ? validate(call, names: names)
                : .failure(Rejection(message: "Not run: at most \(limit) tool calls per response (--max-tool-calls-per-response)"))
            switch verdict {
            case .success(let arguments):
                actions.append(.runTool(id: call.id, name: call.name, arguments: arguments))
            case .failure(let reason):
                let output = ToolOutput(content: reason.message, isError: true)
                round.results[call.id] = output
                actions.append(.rejectToolCall(call))
                actions.append(
                    .reportToolResult(
                        ToolResultReport(
                            callID: call.id,
                            toolName: call.name,
                            output: output,
                            duration: .zero,
                            namesOfferedTool: offered,
                            beyondLimit: index >= limit
                        )
                    )
                )
            }
        }
        state = .runningTools(round)
        if round.isComplete { actions += finishRound(round, at: time) }
        return actions
    }

    /// Records one tool's result; the last result of the round sends them all to the model.
    mutating func toolFinished(callID: String, _ outcome: ToolOutcome, at time: Duration) -> [Action] {
        guard case .runningTools(var round) = state else { return [.ignored("tool result while \(stateName)")] }
        guard let call = round.calls.first(where: { $0.id == callID }) else {
            return [.ignored("tool result for unknown call \(callID) while \(stateName)")]
        }
        guard round.results[callID] == nil else {
            return [.ignored("second tool result for call \(callID) while \(stateName)")]
        }
        let output = Self.output(of: call, outcome)
        round.results[callID] = output
        state = .runningTools(round)
        var actions: [Action] = [
            .reportToolResult(ToolResultReport(callID: callID, toolName: call.name, output: output, duration: time - round.startedAt))
        ]
        if round.isComplete { actions += finishRound(round, at: time) }
        return actions
    }

    /// Appends the round's results in call order and asks the model again.
    private mutating func finishRound(_ round: ToolRound, at time: Duration) -> [Action] {
        for call in round.calls {
            let output = round.results[call.id]!
            messages.append(.tool(callID: call.id, content: output.content, isError: output.isError))
        }
        return [requestModel(at: time)]
    }

    /// Why a call was not run, as the model will read it.
    private struct Rejection: Error {
        var message: String
    }

    private func validate(_ call: ToolCall, names: Set<String>) -> Result<JSONValue, Rejection> {
        guard !call.name.isEmpty else {
            return .failure(Rejection(message: "Tool call \(call.id) names no tool; name one of the tools offered."))
        }
        guard names.contains(call.name) else {
            let offered = names.isEmpty ? "none" : names.sorted().joined(separator: ", ")
            return .failure(Rejection(message: "There is no tool named \(call.name). Tools offered: \(offered)."))
        }
        do {
            return .success(try call.parsedArguments())
        } catch {
            return .failure(Rejection(message: error.message))
        }
    }

    private static func output(of call: ToolCall, _ outcome: ToolOutcome) -> ToolOutput {
        switch outcome {
        case .output(let output):
            output
        case .failed(let message):
            ToolOutput(content: "The tool \(call.name) failed: \(message)", isError: true)
        case .timedOut(let limit):
            ToolOutput(content: "The tool \(call.name) did not answer within \(limit.spokenForm) and was stopped.", isError: true)
        }
    }
}

extension Duration {
    /// The duration in whole seconds (`30 s`) or, when not whole, milliseconds (`250 ms`).
    var spokenForm: String {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
    }
}
