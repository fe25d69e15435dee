import BedsideCore
import BedsideServer
import Foundation
import Testing

/// The agent answering over a live WebSocket: every step a session event, in order.
@Suite struct AgentTurnTests {
    @Test func aTurnWithAToolRoundEmitsEveryStepInOrder() async throws {
        let model = ScriptedModel([
            [
                .event(.toolCallDelta(ToolCallDelta(index: 0, id: "call-1", name: "count_conditions"))),
                .event(.toolCallDelta(ToolCallDelta(index: 0, argumentsFragment: #"{"pati"#))),
                .event(.toolCallDelta(ToolCallDelta(index: 0, argumentsFragment: #"ent":"maria"}"#))),
                .event(.finish(FinishReason(rawValue: "tool_calls"))),
                .event(.usage(TokenUsage(promptTokens: 100, completionTokens: 20))),
            ],
            ScriptedModel.answer("Maria has two active conditions.", usage: TokenUsage(promptTokens: 150, completionTokens: 9)),
            ScriptedModel.answer("Still two.", pieces: 1, usage: TokenUsage(promptTokens: 10, completionTokens: 2)),
        ])
        let server = try await LiveServer.start(runner: AgentTurnRunner(model: model, tools: ConditionTools()))
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "How many active conditions does Maria have?"))
        let events = try await socket.receiveTurn()
        #expect(
            events.map(\.type) == [
                "user", "turn", "openai_call", "openai_response", "tool_call", "tool_result", "openai_call",
                "assistant", "assistant", "assistant", "assistant", "openai_response", "turn",
            ]
        )
        #expect(events[1].status == "started")
        #expect(events[2]["model"]?.stringValue == "scripted-model")
        #expect(events[3]["total_tokens"]?.integerValue == 120)
        #expect(events[3]["finish_reason"]?.stringValue == "tool_calls")
        #expect(events[4]["arguments"] == ["patient": "maria"])
        #expect(events[5]["result"]?.stringValue?.contains(#""active_conditions":2"#) == true)
        #expect(events[5]["is_error"] == .bool(false))
        let deltas = events.filter { $0.type == "assistant" && $0["streaming"] == .bool(true) }
        let final = try #require(events.first { $0.type == "assistant" && $0["streaming"] == .bool(false) })
        #expect(deltas.compactMap { $0["content"]?.stringValue }.joined() == final["content"]?.stringValue)
        #expect(final["content"]?.stringValue == "Maria has two active conditions.")
        let end = try #require(events.last)
        #expect(end.status == "completed")
        #expect(end["prompt_tokens"]?.integerValue == 250)
        #expect(end["completion_tokens"]?.integerValue == 29)
        #expect(end["total_tokens"]?.integerValue == 279)

        // The next turn sends the first one as history, before the new question.
        try await socket.send(Frame.message(session, "And now?"))
        #expect(try await socket.receiveTurn().last?.status == "completed")
        let third = try #require(model.requests.last)
        let conversation = third.messages.dropFirst()  // after the system prompt
        #expect(
            Array(conversation) == [
                .user("How many active conditions does Maria have?"), .assistant("Maria has two active conditions."), .user("And now?"),
            ]
        )
        try await socket.close()
        try await server.stop()
    }

    @Test func aModelFailureEndsTheTurnWithItsCode() async throws {
        let model = ScriptedModel([
            [.fail(ModelError(code: .unavailable, httpStatus: 401, message: "401 from the model endpoint: check OPENAI_API_KEY"))]
        ])
        let server = try await LiveServer.start(runner: AgentTurnRunner(model: model, tools: ConditionTools()))
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "Hello?"))
        let events = try await socket.receiveTurn()
        let error = try #require(events.first { $0.type == "error" })
        #expect(error.code == "llm_unavailable")
        #expect(error["error"]?.stringValue == "401 from the model endpoint: check OPENAI_API_KEY")
        #expect(events.last?.status == "failed")
        try await socket.close()
        try await server.stop()
    }

    @Test func cancelLatencyKeepsThePartialReply() async throws {
        let model = ScriptedModel([
            ScriptedModel.answer(String(repeating: "word ", count: 200), pieces: 200, usage: .zero, pause: .milliseconds(20))
        ])
        let server = try await LiveServer.start(runner: AgentTurnRunner(model: model, tools: ConditionTools()))
        let session = newSessionID()
        let socket = try await server.open(session)
        let (_, elapsed) = try await socket.cancelMidReply(in: session)
        #expect(elapsed < .milliseconds(500), "cancel took \(elapsed)")
        try await socket.close()
        try await server.stop()
    }
}
