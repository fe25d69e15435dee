import BedsideAgent
import BedsideCore
import Testing

@Suite struct ToolOutcomeTests {
    /// Runs one call of `observationCall`, feeds `outcome` back and returns the actions.
    private func finish(with outcome: AgentMachine.ToolOutcome) -> [AgentMachine.Action] {
        var machine = makeMachine()
        _ = machine.start()
        _ = machine.respond(withToolCalls: [observationCall], at: .seconds(1))
        return machine.handle(.toolFinished(callID: "call_a", outcome), at: .seconds(3))
    }

    @Test func anErrorOutputOfTheToolGoesToTheModelUnchanged() {
        let output = ToolOutput(content: "Unknown code 4548-X.", isError: true)
        let actions = finish(with: .output(output))
        #expect(actions.toolResults == [.init(callID: "call_a", toolName: "search_observations", output: output, duration: .seconds(2))])
        #expect(actions.modelRequests.first?.messages.last == .tool(callID: "call_a", content: "Unknown code 4548-X.", isError: true))
    }

    @Test func aToolThatThrewIsFedBackAsAnErrorResult() {
        let actions = finish(with: .failed(message: "the FHIR server answered 503"))
        let expected = ToolOutput(content: "The tool search_observations failed: the FHIR server answered 503", isError: true)
        #expect(actions.toolResults.map(\.output) == [expected])
        #expect(actions.modelRequests.first?.messages.last == .tool(callID: "call_a", content: expected.content, isError: true))
        #expect(actions.turnEnd == nil)
    }

    @Test func aToolThatTimedOutIsFedBackAsAnErrorResult() {
        let seconds = finish(with: .timedOut(after: .seconds(10)))
        #expect(
            seconds.toolResults.first?.output
                == ToolOutput(content: "The tool search_observations did not answer within 10 s and was stopped.", isError: true)
        )
        let milliseconds = finish(with: .timedOut(after: .milliseconds(1_500)))
        #expect(milliseconds.toolResults.first?.output.content.contains("within 1500 ms") == true)
        #expect(milliseconds.modelRequests.count == 1)
    }
}
