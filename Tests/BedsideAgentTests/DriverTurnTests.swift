import BedsideAgent
import BedsideCore
import Testing

@Suite struct DriverTurnTests {
    @Test func aTurnWithAToolRoundEmitsEveryStepInOrder() async {
        let first = TokenUsage(promptTokens: 100, completionTokens: 20)
        let second = TokenUsage(promptTokens: 150, completionTokens: 30)
        let model = ScriptedModel([
            streamedToolCall(observationCall, index: 0) + responseEnd(.toolCalls, first),
            [.text("HbA1c was "), .pause(.milliseconds(5)), .text("7.1 % (Observation/obs-1).")] + responseEnd(.stop, second),
        ])
        let tools = RecordingToolset(["search_observations": .answer(#"[{"id":"obs-1","value":"7.1 %"}]"#)])
        let log = EventLog()
        let end = await makeDriver(model, tools).run(into: log)
        #expect(
            log.labels == [
                "model call started",
                "model call ended tool_calls",
                "tool call started call_a",
                "tool call ended call_a",
                "model call started",
                "text delta HbA1c was ",
                "text delta 7.1 % (Observation/obs-1).",
                "final text HbA1c was 7.1 % (Observation/obs-1).",
                "model call ended stop",
                "turn ended completed",
            ]
        )
        #expect(end.outcome == .completed)
        #expect(end.usage == first + second)
        #expect(end.modelRequests == 2)
        #expect(log.all.last == .turnEnded(end))
        if case .modelCallStarted(let model, let provider, _) = log.all.first {
            #expect(model == "gpt-test" && provider == "scripted")
        }
        #expect(
            log.all.contains(
                .toolCallStarted(id: "call_a", name: "search_observations", arguments: .json(.object(["code": .string("4548-4")])))
            )
        )
        #expect(log.all.contains(.finalText("HbA1c was 7.1 % (Observation/obs-1).", messageID: "m-1", cancelled: false)))
        #expect(tools.calls == [RecordingToolset.Call(name: "search_observations", arguments: .object(["code": .string("4548-4")]))])
        #expect(model.requests.count == 2)
        #expect(
            model.requests.last?.messages.last == .tool(callID: "call_a", content: #"[{"id":"obs-1","value":"7.1 %"}]"#, isError: false)
        )
        #expect(model.requests.first?.tools == lookupTools)
    }

    @Test func theToolCallsOfOneResponseRunConcurrently() async {
        let model = ScriptedModel([
            streamedToolCall(observationCall, index: 0) + streamedToolCall(patientCall, index: 1)
                + responseEnd(.toolCalls, TokenUsage(promptTokens: 10, completionTokens: 5)),
            [.text("Done.")] + responseEnd(.stop, TokenUsage(promptTokens: 20, completionTokens: 2)),
        ])
        let tools = RecordingToolset([
            "search_observations": .answer("[]", after: .milliseconds(150)),
            "get_patient": .answer("{}", after: .milliseconds(150)),
        ])
        let log = EventLog()
        let end = await makeDriver(model, tools).run(into: log)
        // Both calls started before either finished: they overlapped.
        let started: Set<RecordingToolset.Entry> = [.started("search_observations"), .started("get_patient")]
        let finished: Set<RecordingToolset.Entry> = [.finished("search_observations"), .finished("get_patient")]
        #expect(Set(tools.log.prefix(2)) == started)
        #expect(Set(tools.log.suffix(2)) == finished)
        #expect(end.outcome == .completed)
        #expect(log.labels.filter { $0.hasPrefix("tool call ended") }.count == 2)
        // The results go back in call order, whichever finished first.
        #expect(
            model.requests.last.map { Array($0.messages.suffix(2)) } == [
                .tool(callID: "call_a", content: "[]", isError: false),
                .tool(callID: "call_b", content: "{}", isError: false),
            ]
        )
    }

    @Test func aToolThatTimesOutIsStoppedAndReportedAsAnErrorResult() async {
        let model = ScriptedModel([
            streamedToolCall(patientCall, index: 0) + responseEnd(.toolCalls, .zero),
            [.text("The patient record could not be retrieved.")] + responseEnd(.stop, .zero),
        ])
        let tools = RecordingToolset(["get_patient": .answer("{}", after: .seconds(30))])
        let log = EventLog()
        let end = await makeDriver(model, tools, toolTimeout: .milliseconds(50)).run(into: log)
        let message = "The tool get_patient did not answer within 50 ms and was stopped."
        #expect(model.requests.last?.messages.last == .tool(callID: "call_b", content: message, isError: true))
        #expect(log.labels.contains("tool call ended call_b (error)"))
        #expect(tools.log == [.started("get_patient"), .cancelled("get_patient")])
        #expect(end.outcome == .completed)
    }

    @Test func aToolThatThrowsIsReportedAsAnErrorResult() async {
        let model = ScriptedModel([
            streamedToolCall(patientCall, index: 0) + responseEnd(.toolCalls, .zero),
            [.text("The FHIR server could not be reached.")] + responseEnd(.stop, .zero),
        ])
        let tools = RecordingToolset(["get_patient": .fail(ToolFailure(message: "FHIR server unreachable"))])
        let log = EventLog()
        let end = await makeDriver(model, tools).run(into: log)
        let content = "The tool get_patient failed: FHIR server unreachable"
        #expect(model.requests.last?.messages.last == .tool(callID: "call_b", content: content, isError: true))
        #expect(
            log.all.contains {
                if case .toolCallEnded(let report) = $0 { report.output == ToolOutput(content: content, isError: true) } else { false }
            }
        )
        #expect(end.outcome == .completed)
    }

    @Test func theRequestLimitEndsATurnThatKeepsAskingForTools() async {
        let askAgain = streamedToolCall(patientCall, index: 0) + responseEnd(.toolCalls, TokenUsage(promptTokens: 10, completionTokens: 1))
        let model = ScriptedModel([askAgain, askAgain, askAgain])
        let tools = RecordingToolset(["get_patient": .answer("{}")])
        let log = EventLog()
        let end = await makeDriver(model, tools, maxModelRequests: 2).run(into: log)
        #expect(end.outcome == .failed(.tooManyModelRequests(limit: 2)))
        #expect(end.usage == TokenUsage(promptTokens: 20, completionTokens: 2))
        #expect(model.requests.count == 2)
        #expect(tools.calls.count == 1)
        #expect(log.labels.last == "turn ended failed")
    }
}
