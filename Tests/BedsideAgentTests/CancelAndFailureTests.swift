import BedsideAgent
import BedsideCore
import Testing

@Suite struct CancelAndFailureTests {
    @Test func cancelMidStreamKeepsThePartialReplyAsTheCancelledFinalText() {
        var machine = makeMachine()
        _ = machine.start()
        _ = machine.stream([.textDelta("HbA1c was "), .textDelta("7.1"), .usage(TokenUsage(promptTokens: 50, completionTokens: 3))])
        let actions = machine.handle(.cancel(reason: "cancelled_by_user"), at: .milliseconds(700))
        #expect(
            actions == [
                .emitFinalText("HbA1c was 7.1", cancelled: true),
                .endTurn(
                    .init(
                        outcome: .cancelled(reason: "cancelled_by_user"),
                        usage: TokenUsage(promptTokens: 50, completionTokens: 3),
                        modelRequests: 1,
                        duration: .milliseconds(700)
                    )
                ),
            ]
        )
        // Whatever the stopped stream still delivers changes nothing.
        #expect(machine.handle(.modelEvent(.textDelta(" %")), at: .milliseconds(710)) == [.ignored("model event while finished")])
        #expect(machine.handle(.modelStreamEnded, at: .milliseconds(720)).turnEnd == nil)
        #expect(machine.handle(.cancel(reason: "cancelled_by_user"), at: .milliseconds(730)) == [.ignored("cancel while finished")])
    }

    @Test func cancelWhileToolsRunStopsTheRunningCallsEndsTheTurnAndIgnoresLateResults() {
        var machine = makeMachine()
        _ = machine.start()
        _ = machine.stream([.textDelta("Checking.")])
        _ = machine.respond(
            withToolCalls: [observationCall, patientCall],
            usage: TokenUsage(promptTokens: 90, completionTokens: 12),
            at: .seconds(1)
        )
        _ = machine.handle(.toolFinished(callID: "call_b", .output(ToolOutput(content: "{}"))), at: .seconds(2))
        let actions = machine.handle(.cancel(reason: "shutdown"), at: .seconds(3))
        // call_b had answered; call_a gets its error result, so every tool_call has one.
        #expect(
            actions == [
                .reportToolResult(
                    .init(
                        callID: "call_a",
                        toolName: "search_observations",
                        output: ToolOutput(content: "The tool search_observations was stopped: the turn was cancelled.", isError: true),
                        duration: .seconds(2)
                    )
                ),
                .emitFinalText("Checking.", cancelled: true),
                .endTurn(
                    .init(
                        outcome: .cancelled(reason: "shutdown"),
                        usage: TokenUsage(promptTokens: 90, completionTokens: 12),
                        modelRequests: 1,
                        duration: .seconds(3)
                    )
                ),
            ]
        )
        #expect(
            machine.handle(.toolFinished(callID: "call_a", .output(ToolOutput(content: "[]"))), at: .seconds(4)) == [
                .ignored("tool result while finished")
            ]
        )
    }

    @Test func aTurnTimeoutWhileToolsRunGivesEachRunningCallAnErrorResult() {
        var machine = makeMachine()
        _ = machine.start()
        _ = machine.respond(withToolCalls: [observationCall, patientCall], usage: .zero, at: .seconds(1))
        let actions = machine.handle(.fail(.turnTimedOut(limit: .seconds(300))), at: .seconds(301))
        let stopped = actions.compactMap { action -> AgentMachine.ToolResultReport? in
            if case .reportToolResult(let report) = action { report } else { nil }
        }
        #expect(stopped.map(\.callID) == ["call_a", "call_b"])
        #expect(stopped.allSatisfy { $0.output.isError && $0.duration == .seconds(300) })
        #expect(stopped.first?.output.content == "The tool search_observations was stopped: the turn ran out of time (300 s).")
        #expect(actions.turnEnd?.outcome == .failed(.turnTimedOut(limit: .seconds(300))))
    }

    @Test func cancelBeforeAnyTextEndsTheTurnWithNoFinalText() {
        var machine = makeMachine()
        _ = machine.start()
        #expect(machine.handle(.cancel(reason: "cancelled_by_user"), at: .seconds(1)).map(\.isFinalText) == [false])
        var idle = makeMachine()
        let idleEnd = idle.handle(.cancel(reason: "shutdown"), at: .seconds(1)).turnEnd
        #expect(idleEnd?.outcome == .cancelled(reason: "shutdown"))
        #expect(idleEnd?.duration == .zero)
        #expect(idle.isFinished)
    }

    @Test(arguments: [
        ModelError(code: .unavailable, httpStatus: 401, message: "401 from the model endpoint: check OPENAI_API_KEY"),
        ModelError(code: .error, httpStatus: 500, message: "The model endpoint failed (500); try again."),
        ModelError(code: .unavailable, message: "Cannot connect to http://localhost:11434: is the model server running?"),
    ])
    func aModelFailureEndsTheTurnFailedWithItsError(_ error: ModelError) {
        var machine = makeMachine()
        _ = machine.start()
        _ = machine.stream([.textDelta("HbA1c"), .usage(TokenUsage(promptTokens: 40, completionTokens: 1))])
        let actions = machine.handle(.modelFailed(error), at: .seconds(2))
        #expect(
            actions == [
                .endTurn(
                    .init(
                        outcome: .failed(.model(error)),
                        usage: TokenUsage(promptTokens: 40, completionTokens: 1),
                        modelRequests: 1,
                        duration: .seconds(2)
                    )
                )
            ]
        )
        #expect(AgentMachine.Failure.model(error).message == error.message)
        #expect(machine.isFinished)
    }

    @Test func aModelFailureOnALaterRequestKeepsTheEarlierUsage() {
        var machine = makeMachine()
        _ = machine.start()
        _ = machine.respond(withToolCalls: [observationCall], usage: TokenUsage(promptTokens: 10, completionTokens: 2), at: .seconds(1))
        _ = machine.handle(.toolFinished(callID: "call_a", .output(ToolOutput(content: "[]"))), at: .seconds(2))
        let error = ModelError(
            code: .error,
            httpStatus: 429,
            message: "The model endpoint is rate limiting Bedside; try again in a minute."
        )
        let end = machine.handle(.modelFailed(error), at: .seconds(3)).turnEnd
        #expect(end?.outcome == .failed(.model(error)))
        #expect(end?.usage == TokenUsage(promptTokens: 10, completionTokens: 2))
        #expect(end?.modelRequests == 2)
    }

    @Test func modelErrorsDescribeThemselves() {
        #expect(
            ModelError(code: .unavailable, httpStatus: 401, message: "check OPENAI_API_KEY").description
                == "unavailable (HTTP 401): check OPENAI_API_KEY"
        )
        #expect(ModelError(code: .error, message: "stream cut").description == "error: stream cut")
        #expect(ModelError.Code.unavailable != .error)
    }
}

extension AgentMachine.Action {
    fileprivate var isFinalText: Bool {
        if case .emitFinalText = self { return true }
        return false
    }
}
