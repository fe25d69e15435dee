import BedsideAgent
import BedsideCore
import BedsideServer
import Foundation
import Testing

/// What a model response may make the server do with tools: at most so many calls run, and
/// whatever names it invents, `/metrics` gets no new series.
@Suite struct ToolLimitTurnTests {
    /// A response of `names.count` tool calls (ids `call_1` …), then an answer.
    private func model(calling names: [String]) -> ScriptedModel {
        var calls: [ScriptedModel.Step] = names.enumerated().map { index, name in
            .event(
                .toolCallDelta(ToolCallDelta(index: index, id: "call_\(index + 1)", name: name, argumentsFragment: #"{"patient":"p-1"}"#))
            )
        }
        calls.append(.event(.finish(FinishReason(rawValue: "tool_calls"))))
        return ScriptedModel([calls, ScriptedModel.answer("Two.", usage: TokenUsage(promptTokens: 1, completionTokens: 1))])
    }

    /// Runs one turn against `model` and returns its events and the server's metrics.
    private func turn(
        _ model: ScriptedModel,
        configuration: AgentMachine.Configuration? = nil
    ) async throws -> (events: [JSONValue], metrics: PrometheusText) {
        let runner = AgentTurnRunner(model: model, tools: ConditionTools(), configuration: configuration)
        let server = try await LiveServer.start(runner: runner)
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "How many conditions?"))
        let events = try await socket.receiveTurn()
        try await socket.close()
        let (_, body) = try await server.get("/metrics")
        try await server.stop()
        return (events, try PrometheusText(body))
    }

    @Test func atTheDefaultEightCallsOfAResponseRunAndEachExtraOneIsAnsweredAsAnError() async throws {
        let model = model(calling: Array(repeating: "count_conditions", count: 11))
        let (events, metrics) = try await turn(model)
        #expect(events.last?.status == "completed")
        let calls = events.filter { $0.type == "tool_call" }
        let results = events.filter { $0.type == "tool_result" }
        #expect(calls.count == 11)
        #expect(Set(results.compactMap { $0["tool_call_id"]?.stringValue }) == Set((1...11).map { "call_\($0)" }))
        let refused = results.filter { $0["is_error"] == .bool(true) }
        #expect(refused.compactMap { $0["tool_call_id"]?.stringValue }.sorted() == ["call_10", "call_11", "call_9"])
        #expect(
            refused.allSatisfy {
                $0["result"]?.stringValue == "Not run: at most 8 tool calls per response (--max-tool-calls-per-response)"
            }
        )
        // The model is told: its next request has a result for each of its eleven calls.
        let next = try #require(model.requests.last)
        #expect(next.messages.filter { if case .tool = $0 { true } else { false } }.count == 11)
        #expect(metrics.value("bedside_limit_refusals_total", ["limit": "tool_calls_per_response"]) == 3)
    }

    @Test func aConfiguredLimitRunsThatMany() async throws {
        let model = model(calling: Array(repeating: "count_conditions", count: 4))
        let (events, metrics) = try await turn(model, configuration: .init(model: model.modelName, maxToolCallsPerResponse: 1))
        let results = events.filter { $0.type == "tool_result" }
        #expect(results.filter { $0["is_error"] == .bool(false) }.count == 1)
        #expect(results.filter { $0["is_error"] == .bool(true) }.count == 3)
        #expect(metrics.value("bedside_limit_refusals_total", ["limit": "tool_calls_per_response"]) == 3)
    }

    @Test func aHundredInventedToolNamesLeaveOneOtherSeries() async throws {
        let invented = (1...100).map { "invented_tool_\($0)" }
        let model = model(calling: ["count_conditions"] + invented)
        let (events, metrics) = try await turn(model, configuration: .init(model: model.modelName, maxToolCallsPerResponse: 101))
        #expect(events.filter { $0.type == "tool_result" }.count == 101)
        let series = metrics.samples.filter { $0.name == "bedside_tool_call_duration_seconds_count" }
        #expect(Set(series.compactMap { $0.labels["tool"] }) == ["count_conditions", "other"])
        #expect(metrics.value("bedside_tool_call_duration_seconds_count", ["tool": "other"]) == 100)
        #expect(metrics.value("bedside_tool_call_duration_seconds_count", ["tool": "count_conditions"]) == 1)
        #expect(!series.contains { $0.labels["tool"]?.hasPrefix("invented") == true })
    }

    @Test func toolsOfAnMCPServerAreLabelledByTheirNames() async throws {
        let model = model(calling: ["remote_lookup", "count_conditions", "not_offered"])
        let runner = AgentTurnRunner(model: model, tools: CompositeToolset([ConditionTools(), RemoteTools()]))
        let server = try await LiveServer.start(runner: runner)
        let session = newSessionID()
        let socket = try await server.open(session)
        try await socket.send(Frame.message(session, "Look it up"))
        let events = try await socket.receiveTurn()
        #expect(events.first { $0.type == "tool_call" }?["server"]?.stringValue == "records")
        let (_, body) = try await server.get("/metrics")
        let series = try PrometheusText(body).samples.filter { $0.name == "bedside_tool_call_duration_seconds_count" }
        #expect(Set(series.compactMap { $0.labels["tool"] }) == ["remote_lookup", "count_conditions", "other"])
        try await socket.close()
        try await server.stop()
    }
}

/// A toolset standing for an MCP server's: one tool, marked with its server.
private struct RemoteTools: Toolset {
    func definitions() async throws -> [ToolDefinition] {
        [ToolDefinition(name: "remote_lookup", description: "Looks a record up.", parameters: ["type": "object"], server: "records")]
    }

    func call(_ name: String, arguments: JSONValue) async throws -> ToolOutput {
        ToolOutput(content: #"{"found":true}"#, isError: false)
    }
}
