import BedsideAgent
import BedsideCore
import Testing

@Suite struct TurnFlowTests {
    @Test func startRequestsTheModelWithSystemPromptHistoryAndMessage() {
        var machine = makeMachine()
        let history: [ChatMessage] = [.user("Who is this?"), .assistant("Patient/p-17, born 1961.")]
        let actions = machine.handle(.start(history: history, userMessage: "Latest HbA1c?", tools: lookupTools), at: .seconds(5))
        #expect(
            actions == [
                .requestModel(
                    ModelRequest(
                        model: "gpt-test",
                        messages: [.system(AgentMachine.clinicalSystemPrompt)] + history + [.user("Latest HbA1c?")],
                        tools: lookupTools,
                        maxOutputTokens: 4096
                    )
                )
            ]
        )
        #expect(!machine.isFinished)
    }

    @Test func clinicalPromptKeepsAnswersToTheRecords() {
        let prompt = AgentMachine.clinicalSystemPrompt
        #expect(prompt.contains("only the FHIR records that your tools return"))
        #expect(prompt.contains("Say which records you used"))
        #expect(prompt.contains("When the records do not contain what was asked, say so plainly"))
    }

    @Test func textDeltasAreEmittedAsTheyArriveAndTheAnswerCompletesTheTurn() {
        var machine = makeMachine()
        _ = machine.start()
        #expect(machine.handle(.modelEvent(.textDelta("HbA1c ")), at: .milliseconds(300)) == [.emitTextDelta("HbA1c ")])
        #expect(machine.handle(.modelEvent(.textDelta("")), at: .milliseconds(310)) == [])
        #expect(machine.handle(.modelEvent(.textDelta("was 7.1 %.")), at: .milliseconds(320)) == [.emitTextDelta("was 7.1 %.")])
        #expect(machine.handle(.modelEvent(.finish(.stop)), at: .milliseconds(330)) == [])
        let usage = TokenUsage(promptTokens: 120, completionTokens: 9)
        #expect(machine.handle(.modelEvent(.usage(usage)), at: .milliseconds(340)) == [])
        let actions = machine.handle(.modelStreamEnded, at: .milliseconds(400))
        #expect(
            actions == [
                .emitFinalText("HbA1c was 7.1 %.", cancelled: false),
                .reportModelResponse(
                    .init(model: "gpt-test", usage: usage, duration: .milliseconds(400), finishReason: .stop)
                ),
                .endTurn(.init(outcome: .completed, usage: usage, modelRequests: 1, duration: .milliseconds(400))),
            ]
        )
        #expect(machine.isFinished)
    }

    @Test func anEmptyAnswerStillCompletesWithAnEmptyFinalText() {
        var machine = makeMachine()
        _ = machine.start()
        let actions = machine.handle(.modelStreamEnded, at: .seconds(1))
        #expect(actions.contains(.emitFinalText("", cancelled: false)))
        #expect(actions.turnEnd?.outcome == .completed)
        #expect(actions.turnEnd?.usage == .zero)
    }

    @Test func toolResultsGoBackToTheModelInCallOrderOnceAllAreIn() throws {
        var machine = makeMachine()
        _ = machine.start()
        let first = TokenUsage(promptTokens: 100, completionTokens: 20)
        let ended = machine.respond(withToolCalls: [observationCall, patientCall], usage: first, at: .seconds(1))
        #expect(
            ended == [
                .reportModelResponse(.init(model: "gpt-test", usage: first, duration: .seconds(1), finishReason: .toolCalls)),
                .runTool(id: "call_a", name: "search_observations", arguments: .object(["code": .string("4548-4")])),
                .runTool(id: "call_b", name: "get_patient", arguments: .object(["id": .string("p-17")])),
            ]
        )

        // The second call answers first; nothing goes to the model until both are in.
        let patient = ToolOutput(content: #"{"resourceType":"Patient","id":"p-17"}"#)
        #expect(
            machine.handle(.toolFinished(callID: "call_b", .output(patient)), at: .milliseconds(1_040))
                == [.reportToolResult(.init(callID: "call_b", toolName: "get_patient", output: patient, duration: .milliseconds(40)))]
        )
        let observations = ToolOutput(content: "HbA1c 7.1 % on 2026-10-02 (Observation/obs-9)")
        let actions = machine.handle(.toolFinished(callID: "call_a", .output(observations)), at: .milliseconds(1_090))
        #expect(actions.toolResults.map(\.duration) == [.milliseconds(90)])
        let request = try #require(actions.modelRequests.first)
        #expect(
            request.messages.suffix(3) == [
                .assistant(text: nil, toolCalls: [observationCall, patientCall]),
                .tool(callID: "call_a", content: observations.content, isError: false),
                .tool(callID: "call_b", content: patient.content, isError: false),
            ]
        )
        #expect(request.tools == lookupTools)
    }

    @Test func usageIsSummedOverEveryModelRequestOfTheTurn() {
        var machine = makeMachine()
        _ = machine.start()
        let first = TokenUsage(promptTokens: 100, completionTokens: 20, totalTokens: 120)
        let second = TokenUsage(promptTokens: 180, completionTokens: 30, totalTokens: 211)
        _ = machine.respond(withToolCalls: [observationCall], usage: first, at: .seconds(1))
        _ = machine.handle(.toolFinished(callID: "call_a", .output(ToolOutput(content: "[]"))), at: .seconds(2))
        let actions = machine.respond(withText: "No HbA1c on record.", usage: second, at: .seconds(3))
        #expect(actions.contains(.reportModelResponse(.init(model: "gpt-test", usage: second, duration: .seconds(1), finishReason: .stop))))
        #expect(
            actions.turnEnd
                == .init(
                    outcome: .completed,
                    usage: TokenUsage(promptTokens: 280, completionTokens: 50, totalTokens: 331),
                    modelRequests: 2,
                    duration: .seconds(3)
                )
        )
    }

    @Test func theLastUsageOfOneRequestCounts() {
        var machine = makeMachine()
        _ = machine.start()
        _ = machine.stream([
            .usage(TokenUsage(promptTokens: 10, completionTokens: 1)), .usage(TokenUsage(promptTokens: 10, completionTokens: 5)),
        ])
        let actions = machine.handle(.modelStreamEnded, at: .seconds(1))
        #expect(actions.turnEnd?.usage == TokenUsage(promptTokens: 10, completionTokens: 5))
    }

    @Test func textOfALaterRequestStartsANewParagraphOfTheSameReply() {
        var machine = makeMachine()
        _ = machine.start()
        #expect(machine.stream([.textDelta("Looking up the records.")]) == [.emitTextDelta("Looking up the records.")])
        let ended = machine.respond(withToolCalls: [observationCall], at: .seconds(1))
        #expect(ended.toolRuns == ["call_a"])
        let request = machine.handle(.toolFinished(callID: "call_a", .output(ToolOutput(content: "[]"))), at: .seconds(2)).modelRequests
        #expect(request.first?.messages.dropLast().last == .assistant(text: "Looking up the records.", toolCalls: [observationCall]))
        let actions = machine.respond(withText: "None found.", at: .seconds(3))
        #expect(actions.first == .emitTextDelta("\n\nNone found."))
        #expect(actions.contains(.emitFinalText("Looking up the records.\n\nNone found.", cancelled: false)))
    }

    @Test func theRequestLimitEndsTheTurnFailedWithoutRunningMoreTools() {
        var machine = makeMachine(maxModelRequests: 2)
        _ = machine.start()
        _ = machine.respond(withToolCalls: [observationCall], usage: TokenUsage(promptTokens: 10, completionTokens: 2), at: .seconds(1))
        let second = machine.handle(.toolFinished(callID: "call_a", .output(ToolOutput(content: "[]"))), at: .seconds(2))
        #expect(second.modelRequests.count == 1)
        let actions = machine.respond(
            withToolCalls: [patientCall],
            usage: TokenUsage(promptTokens: 20, completionTokens: 2),
            at: .seconds(3)
        )
        #expect(actions.toolRuns.isEmpty)
        #expect(
            actions.turnEnd
                == .init(
                    outcome: .failed(.tooManyModelRequests(limit: 2)),
                    usage: TokenUsage(promptTokens: 30, completionTokens: 4),
                    modelRequests: 2,
                    duration: .seconds(3)
                )
        )
        #expect(AgentMachine.Failure.tooManyModelRequests(limit: 2).message.contains("after 2 requests"))
        #expect(machine.isFinished)
    }

    @Test func theDefaultLimitIsEightRequests() {
        #expect(AgentMachine.Configuration(model: "m").maxModelRequests == 8)
        #expect(AgentMachine.Configuration(model: "m", maxModelRequests: 0).maxModelRequests == 1)
        var machine = makeMachine()
        _ = machine.start()
        var requests = 1
        for round in 1...8 {
            let call = ToolCall(id: "call_\(round)", name: "get_patient", arguments: "{}")
            let ended = machine.respond(withToolCalls: [call], at: .seconds(Int64(round)))
            if let end = ended.turnEnd {
                #expect(end.outcome == .failed(.tooManyModelRequests(limit: 8)))
                #expect(round == 8)
                break
            }
            requests +=
                machine.handle(.toolFinished(callID: call.id, .output(ToolOutput(content: "{}"))), at: .seconds(Int64(round))).modelRequests
                .count
        }
        #expect(requests == 8)
        #expect(machine.isFinished)
    }
}
