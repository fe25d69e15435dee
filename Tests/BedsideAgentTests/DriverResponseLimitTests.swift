import BedsideAgent
import BedsideCore
import InMemoryTracing
import Testing
import Tracing

/// The response limits through the driver: the calls beyond the limit are never run, and the
/// trace says why; every request's span names its output budget.
@Suite struct DriverResponseLimitTests {
    @Test func callsBeyondTheLimitAreNeverRunAndTheirSpansSaySo() async {
        let tracer = InMemoryTracer()
        let calls = (1...3).map { ToolCall(id: "call_\($0)", name: "search_observations", arguments: #"{"code":"4548-4"}"#) }
        let model = ScriptedModel([
            calls.enumerated().flatMap { streamedToolCall($1, index: $0) }
                + responseEnd(.toolCalls, TokenUsage(promptTokens: 10, completionTokens: 2)),
            [.text("Done.")] + responseEnd(.stop, TokenUsage(promptTokens: 20, completionTokens: 1)),
        ])
        let tools = RecordingToolset(["search_observations": .answer("[]")])
        let driver = AgentDriver(
            configuration: .init(model: "gpt-test", maxOutputTokens: 512, maxToolCallsPerResponse: 2),
            model: model,
            tools: tools,
            tracing: AgentTracing(tracer: tracer)
        )
        let log = EventLog()
        let end = await driver.run(into: log)
        #expect(end.outcome == .completed)
        #expect(tools.calls.count == 2)
        let reports = log.all.compactMap { if case .toolCallEnded(let report) = $0 { report } else { nil } }
        #expect(reports.filter(\.beyondLimit).map(\.callID) == ["call_3"])

        let spans = tracer.finishedSpans
        let refused = spans.first { $0.attributes["gen_ai.tool.call.id"]?.toSpanAttribute() == .string("call_3") }
        #expect(refused?.attributes["error.type"]?.toSpanAttribute() == .string("tool_call_limit"))
        let chats = spans.filter { $0.operationName == "chat gpt-test" }
        #expect(chats.count == 2)
        #expect(chats.allSatisfy { $0.attributes["gen_ai.request.max_tokens"]?.toSpanAttribute() == .int(512) })
    }
}
