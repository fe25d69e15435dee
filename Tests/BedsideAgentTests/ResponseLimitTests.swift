import BedsideAgent
import BedsideCore
import Testing

/// What one model response may cost: its output budget, and how many of its tool calls run.
@Suite struct ResponseLimitTests {
    /// `count` calls of `search_observations`, ids `call_1` …
    private func calls(_ count: Int, name: String = "search_observations") -> [ToolCall] {
        (1...count).map { ToolCall(id: "call_\($0)", name: name, arguments: #"{"code":"4548-4"}"#) }
    }

    private func refusal(_ limit: Int) -> String {
        "Not run: at most \(limit) tool calls per response (--max-tool-calls-per-response)"
    }

    @Test func everyRequestCarriesTheDefaultOutputBudgetOf4096Tokens() {
        var machine = makeMachine()
        #expect(machine.configuration.maxOutputTokens == 4096)
        #expect(machine.start().modelRequests.map(\.maxOutputTokens) == [4096])
        let next = machine.respond(withToolCalls: [observationCall], at: .seconds(1))
        #expect(next.modelRequests.isEmpty)
        let after = machine.handle(.toolFinished(callID: "call_a", .output(ToolOutput(content: "[]", isError: false))), at: .seconds(2))
        #expect(after.modelRequests.map(\.maxOutputTokens) == [4096])
    }

    @Test func aConfiguredOutputBudgetOrNoneIsWhatTheRequestsCarry() {
        var budgeted = AgentMachine(configuration: .init(model: "gpt-test", maxOutputTokens: 300))
        #expect(budgeted.start().modelRequests.map(\.maxOutputTokens) == [300])
        var unbounded = AgentMachine(configuration: .init(model: "gpt-test", maxOutputTokens: nil))
        #expect(unbounded.start().modelRequests.map(\.maxOutputTokens) == [nil])
        // A budget below one token would ask for nothing: it is raised to one.
        #expect(AgentMachine.Configuration(model: "m", maxOutputTokens: 0).maxOutputTokens == 1)
    }

    @Test func atTheDefaultEightCallsOfAResponseRunAndTheRestAreAnsweredAsErrors() throws {
        var machine = makeMachine()
        #expect(machine.configuration.maxToolCallsPerResponse == 8)
        _ = machine.start()
        let asked = calls(11)
        let actions = machine.respond(withToolCalls: asked, at: .seconds(1))
        #expect(actions.toolRuns == asked.prefix(8).map(\.id))
        let rejected = actions.compactMap { if case .rejectToolCall(let call) = $0 { call } else { nil } }
        #expect(rejected == Array(asked.suffix(3)))
        #expect(
            actions.toolResults
                == asked.suffix(3).map {
                    .init(
                        callID: $0.id,
                        toolName: "search_observations",
                        output: ToolOutput(content: refusal(8), isError: true),
                        duration: .zero,
                        beyondLimit: true
                    )
                }
        )
        #expect(actions.modelRequests.isEmpty, "the eight that run are still out")

        // Once the eight are in, the model reads a result for every one of its eleven calls, in order.
        var last: [AgentMachine.Action] = []
        for call in asked.prefix(8) {
            last = machine.handle(.toolFinished(callID: call.id, .output(ToolOutput(content: "ok", isError: false))), at: .seconds(2))
        }
        let request = try #require(last.modelRequests.first)
        let toolMessages = request.messages.filter { if case .tool = $0 { true } else { false } }
        #expect(
            toolMessages
                == asked.prefix(8).map { .tool(callID: $0.id, content: "ok", isError: false) }
                + asked.suffix(3).map { .tool(callID: $0.id, content: refusal(8), isError: true) }
        )
    }

    @Test func aConfiguredLimitRunsThatManyAndEightOrFewerAllRun() {
        var machine = AgentMachine(configuration: .init(model: "gpt-test", maxToolCallsPerResponse: 2))
        _ = machine.start()
        let actions = machine.respond(withToolCalls: calls(5), at: .seconds(1))
        #expect(actions.toolRuns == ["call_1", "call_2"])
        #expect(actions.toolResults.map(\.callID) == ["call_3", "call_4", "call_5"])
        #expect(actions.toolResults.allSatisfy { $0.beyondLimit && $0.output == ToolOutput(content: refusal(2), isError: true) })

        var atDefault = makeMachine()
        _ = atDefault.start()
        let eight = atDefault.respond(withToolCalls: calls(8), at: .seconds(1))
        #expect(eight.toolRuns.count == 8)
        #expect(eight.toolResults.isEmpty)
    }

    @Test func aCallBeyondTheLimitIsNotRunEvenWhenItIsInvalidAndCallsWithinItAreStillChecked() {
        var machine = AgentMachine(configuration: .init(model: "gpt-test", maxToolCallsPerResponse: 1))
        _ = machine.start()
        let invented = ToolCall(id: "call_x", name: "drop_tables", arguments: "{}")
        let actions = machine.respond(withToolCalls: [invented, patientCall], at: .seconds(1))
        #expect(actions.toolRuns.isEmpty)
        #expect(actions.toolResults.map(\.callID) == ["call_x", "call_b"])
        #expect(actions.toolResults[0].output.content.hasPrefix("There is no tool named drop_tables"))
        #expect(!actions.toolResults[0].beyondLimit)
        #expect(actions.toolResults[1].output.content == refusal(1))
        #expect(actions.toolResults[1].beyondLimit)
        // Every call was answered at once, so the model is asked again straight away.
        #expect(actions.modelRequests.count == 1)
    }

    @Test func aReportSaysWhetherItsCallNamedAnOfferedTool() {
        var machine = makeMachine()
        _ = machine.start()
        let invented = ToolCall(id: "call_x", name: "made_up_tool", arguments: "{}")
        let actions = machine.respond(withToolCalls: [invented, observationCall], at: .seconds(1))
        #expect(actions.toolResults.map(\.namesOfferedTool) == [false])
        let done = machine.handle(.toolFinished(callID: "call_a", .output(ToolOutput(content: "[]", isError: false))), at: .seconds(2))
        #expect(done.toolResults.map(\.namesOfferedTool) == [true])
    }
}
