import BedsideAgent
import BedsideCore
import InMemoryTracing
import Synchronization
import Testing
import Tracing

/// The spans the driver makes, recorded by an in-memory tracer passed in (no global bootstrap).
@Suite struct DriverTracingTests {
    /// Events as the driver emitted them, with their spans.
    final class SpanLog: Sendable {
        private let entries = Mutex<[(AgentEvent, EventSpan?)]>([])
        var all: [(event: AgentEvent, span: EventSpan?)] { entries.withLock { $0 } }
        func emit(_ event: AgentEvent, _ span: EventSpan?) { entries.withLock { $0.append((event, span)) } }
    }

    func run(
        _ model: ScriptedModel,
        _ tools: RecordingToolset,
        tracer: InMemoryTracer,
        toolTimeout: Duration = .seconds(30),
        capture: Bool = false
    ) async -> (AgentMachine.TurnEnd, SpanLog) {
        let driver = AgentDriver(
            configuration: .init(model: "gpt-test"),
            model: model,
            tools: tools,
            toolTimeout: toolTimeout,
            tracing: AgentTracing(tracer: tracer, captureContent: capture)
        )
        let log = SpanLog()
        let end = await ToolCallContext.$current.withValue(ToolCallContext(sessionID: SessionID("session-trace-1")!, turnID: "t-1")) {
            await driver.run(history: [], userMessage: "Latest HbA1c?", messageID: "m-1", emitWithSpan: log.emit)
        }
        return (end, log)
    }

    @Test func aTimedOutToolEndsItsSpanWithTimeoutAndTheTurnStillCompletes() async {
        let tracer = InMemoryTracer()
        let model = ScriptedModel([
            streamedToolCall(observationCall, index: 0) + responseEnd(.toolCalls, TokenUsage(promptTokens: 10, completionTokens: 2)),
            [.text("Done.")] + responseEnd(.stop, TokenUsage(promptTokens: 20, completionTokens: 1)),
        ])
        let tools = RecordingToolset(["search_observations": .answer("[]", after: .seconds(5))])
        let (end, log) = await run(model, tools, tracer: tracer, toolTimeout: .milliseconds(50))
        #expect(end.outcome == .completed)
        let spans = tracer.finishedSpans
        #expect(
            spans.map(\.operationName).sorted() == [
                "chat gpt-test", "chat gpt-test", "execute_tool search_observations", "invoke_agent bedside",
            ]
        )
        let tool = spans.first { $0.operationName == "execute_tool search_observations" }
        #expect(tool?.status?.code == .error)
        #expect(tool?.attributes["error.type"]?.toSpanAttribute() == .string("timeout"))
        let root = spans.first { $0.operationName == "invoke_agent bedside" }
        #expect(root?.attributes["gen_ai.conversation.id"]?.toSpanAttribute() == .string("session-trace-1"))
        #expect(root?.attributes["bedside.turn.id"]?.toSpanAttribute() == .string("t-1"))
        #expect(root?.status == nil)
        for span in spans where span.operationName != "invoke_agent bedside" {
            #expect(span.spanContext.parentSpanID == root?.spanContext.spanID)
        }
        // Every event of the turn names a span of it; the turn's end names the root.
        #expect(log.all.allSatisfy { $0.span?.traceID == root?.spanContext.traceID })
        #expect(log.all.last?.span?.spanID == root?.spanContext.spanID)
    }

    @Test func aCancelledTurnEndsEveryOpenSpanCancelled() async throws {
        let tracer = InMemoryTracer()
        let model = ScriptedModel([[.text("Thinking"), .pause(.seconds(30))]])
        let tools = RecordingToolset([:])
        let task = Task { await run(model, tools, tracer: tracer) }
        try await waitUntil { !tracer.activeSpans.filter { $0.operationName == "chat gpt-test" }.isEmpty }
        task.cancel()
        let (end, _) = await task.value
        #expect(end.outcome == .cancelled(reason: "cancelled_by_user"))
        let chat = tracer.finishedSpans.first { $0.operationName == "chat gpt-test" }
        #expect(chat?.attributes["error.type"]?.toSpanAttribute() == .string("cancelled"))
        let root = tracer.finishedSpans.first { $0.operationName == "invoke_agent bedside" }
        #expect(root?.attributes["error.type"]?.toSpanAttribute() == .string("cancelled"))
        #expect(tracer.activeSpans.isEmpty)
    }

    @Test func aRejectedToolCallIsAnErrorSpan() async {
        let tracer = InMemoryTracer()
        let unknown = ToolCall(id: "call_x", name: "drop_tables", arguments: "{}")
        let model = ScriptedModel([
            streamedToolCall(unknown, index: 0) + responseEnd(.toolCalls, TokenUsage(promptTokens: 1, completionTokens: 1)),
            [.text("Sorry.")] + responseEnd(.stop, TokenUsage(promptTokens: 1, completionTokens: 1)),
        ])
        let (end, _) = await run(model, RecordingToolset([:]), tracer: tracer)
        #expect(end.outcome == .completed)
        let span = tracer.finishedSpans.first { $0.operationName == "execute_tool drop_tables" }
        #expect(span?.attributes["error.type"]?.toSpanAttribute() == .string("invalid_tool_call"))
        #expect(span?.status?.code == .error)
    }
}
