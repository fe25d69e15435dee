import BedsideAgent
import BedsideCore
import Testing

@Suite struct ToolCallAssemblyTests {
    @Test func argumentsSplitAcrossManyDeltasAreJoinedInOrder() {
        var machine = makeMachine()
        _ = machine.start()
        let arguments = #"{"code":"4548-4","patient":"p-17","limit":3}"#
        var events: [ModelStreamEvent] = [.toolCallDelta(ToolCallDelta(index: 0, id: "call_a", name: "search_observations"))]
        events += arguments.map { .toolCallDelta(ToolCallDelta(index: 0, argumentsFragment: String($0))) }
        #expect(machine.stream(events).isEmpty)
        let actions = machine.handle(.modelStreamEnded, at: .seconds(1))
        #expect(
            actions.last
                == .runTool(
                    id: "call_a",
                    name: "search_observations",
                    arguments: .object(["code": .string("4548-4"), "patient": .string("p-17"), "limit": .integer(3)])
                )
        )
    }

    @Test func twoInterleavedCallsAreAssembledByIndex() {
        var machine = makeMachine()
        _ = machine.start()
        _ = machine.stream([
            .toolCallDelta(ToolCallDelta(index: 1, id: "call_b", name: "get_patient", argumentsFragment: #"{"id""#)),
            .toolCallDelta(ToolCallDelta(index: 0, id: "call_a", name: "search_observations", argumentsFragment: "{")),
            .toolCallDelta(ToolCallDelta(index: 1, id: "call_b", argumentsFragment: #":"p-17"}"#)),
            .toolCallDelta(ToolCallDelta(index: 0, argumentsFragment: #""code":"#)),
            .toolCallDelta(ToolCallDelta(index: 0, argumentsFragment: #""4548-4"}"#)),
            .finish(.toolCalls),
        ])
        let actions = machine.handle(.modelStreamEnded, at: .seconds(1))
        #expect(
            Array(actions.dropFirst())
                == [
                    .runTool(id: "call_a", name: "search_observations", arguments: .object(["code": .string("4548-4")])),
                    .runTool(id: "call_b", name: "get_patient", arguments: .object(["id": .string("p-17")])),
                ]
        )
    }

    @Test func callsWithoutAnIdOrWithARepeatedIdGetOneOfTheirOwn() {
        var machine = makeMachine()
        _ = machine.start()
        _ = machine.stream([
            .toolCallDelta(ToolCallDelta(index: 0, name: "get_patient", argumentsFragment: "{}")),
            .toolCallDelta(ToolCallDelta(index: 1, id: "dup", name: "get_patient", argumentsFragment: "")),
            .toolCallDelta(ToolCallDelta(index: 2, id: "dup", name: "get_patient", argumentsFragment: "{}")),
        ])
        #expect(machine.handle(.modelStreamEnded, at: .seconds(1)).toolRuns == ["call_1_0", "dup", "call_1_2"])
    }

    @Test func aCallThatCannotRunIsAnsweredWithAnErrorResultAtOnce() throws {
        var machine = makeMachine()
        _ = machine.start()
        let broken = ToolCall(id: "call_x", name: "get_patient", arguments: #"{"id":"p-"#)
        let unknown = ToolCall(id: "call_y", name: "delete_patient", arguments: "{}")
        let actions = machine.respond(withToolCalls: [broken, observationCall, unknown], at: .seconds(1))
        #expect(actions.toolRuns == ["call_a"])
        #expect(actions.contains(.rejectToolCall(broken)))
        #expect(actions.contains(.rejectToolCall(unknown)))
        let results = actions.toolResults
        #expect(results.map(\.callID) == ["call_x", "call_y"])
        #expect(results.allSatisfy { $0.output.isError && $0.duration == .zero })
        #expect(results[0].output.content.contains("not valid JSON"))
        #expect(results[1].output.content.contains("no tool named delete_patient"))

        let next = machine.handle(.toolFinished(callID: "call_a", .output(ToolOutput(content: "[]"))), at: .seconds(2))
        let request = try #require(next.modelRequests.first)
        #expect(request.messages.suffix(3).map(\.isErrorResult) == [true, false, true])
    }

    @Test func whenNoCallCanRunTheModelIsAskedAgainAtOnce() {
        var machine = makeMachine()
        _ = machine.start()
        let unnamed = ToolCall(id: "call_z", name: "", arguments: "{}")
        let actions = machine.respond(withToolCalls: [unnamed], at: .seconds(1))
        #expect(actions.toolResults.first?.output.content.contains("names no tool") == true)
        #expect(
            actions.modelRequests.first?.messages.last
                == .tool(callID: "call_z", content: actions.toolResults[0].output.content, isError: true)
        )
    }

    @Test func toolCallArgumentsParseAsAnObject() throws {
        #expect(try ToolCall(id: "c", name: "t", arguments: "  ").parsedArguments() == .object([:]))
        #expect(try ToolCall(id: "c", name: "t", arguments: #"{"n":1.5}"#).parsedArguments() == .object(["n": .number(1.5)]))
        #expect(throws: ToolCall.ArgumentsError.self) { try ToolCall(id: "c", name: "t", arguments: "[1]").parsedArguments() }
        #expect(throws: ToolCall.ArgumentsError.self) { try ToolCall(id: "c", name: "t", arguments: "{").parsedArguments() }
    }
}

extension ChatMessage {
    fileprivate var isErrorResult: Bool {
        if case .tool(_, _, let isError) = self { return isError }
        return false
    }
}
