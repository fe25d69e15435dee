import BedsideCore
import BedsideOpenAI
import BedsideTestSupport
import Testing

@Suite struct StreamingTests {
    @Test func textDeltasFinishAndUsage() async throws {
        let server = try await FakeOpenAIServer([.stream([textChunk("Hel"), textChunk("lo"), finishChunk("stop"), usageChunk])])
        let model = OpenAIModel(configuration: testConfiguration(.openAI(baseURL: server.baseURL, apiKey: "sk-test")))
        let (events, error) = await collect(model)
        #expect(error == nil)
        #expect(
            events == [
                .textDelta("Hel"), .textDelta("lo"), .finish(.stop),
                .usage(TokenUsage(promptTokens: 12, completionTokens: 5, totalTokens: 17)),
            ]
        )
        try await model.shutdown()
        await server.stop()
    }

    @Test func toolCallsSplitAcrossChunksByIndex() async throws {
        let server = try await FakeOpenAIServer([
            .stream([
                toolChunk(index: 0, id: "call_a", name: "search", arguments: ""),
                toolChunk(index: 0, arguments: "{\"q\":"),
                toolChunk(index: 1, id: "call_b", name: "read", arguments: "{\"id\""),
                toolChunk(index: 0, arguments: "\"x\"}"),
                toolChunk(index: 1, arguments: ":1}"),
                finishChunk("tool_calls"), usageChunk,
            ])
        ])
        let model = OpenAIModel(configuration: testConfiguration(.openAI(baseURL: server.baseURL, apiKey: "sk-test")))
        let (events, error) = await collect(model)
        #expect(error == nil)
        let deltas = events.compactMap { event -> ToolCallDelta? in
            if case .toolCallDelta(let delta) = event { return delta }
            return nil
        }
        #expect(deltas.count == 5)
        #expect(deltas.filter { $0.index == 0 }.map(\.argumentsFragment).joined() == "{\"q\":\"x\"}")
        #expect(deltas.filter { $0.index == 1 }.map(\.argumentsFragment).joined() == "{\"id\":1}")
        #expect(deltas[0].id == "call_a" && deltas[0].name == "search")
        #expect(deltas[2].id == "call_b" && deltas[2].name == "read")
        #expect(events.contains(.finish(.toolCalls)))
        try await model.shutdown()
        await server.stop()
    }

    @Test func requestBodyAndHeadersOnTheWire() async throws {
        let server = try await FakeOpenAIServer([.stream([finishChunk("stop")])])
        let model = OpenAIModel(configuration: testConfiguration(.openAI(baseURL: server.baseURL, apiKey: "sk-test")))
        let request = ModelRequest(
            model: "gpt-test",
            messages: [
                .system("Be careful."), .user("Labs?"),
                .assistant(text: nil, toolCalls: [ToolCall(id: "call_1", name: "labs", arguments: "{}")]),
                .tool(callID: "call_1", content: "none", isError: false),
            ],
            tools: [ToolDefinition(name: "labs", description: "Lab results", parameters: .object(["type": .string("object")]))]
        )
        _ = await collect(model, request)
        let received = try #require(server.received.first)
        #expect(received.path == "/v1/chat/completions")
        #expect(received.headers["authorization"] == "Bearer sk-test")
        #expect(received.body["stream"] == .bool(true))
        #expect(received.body["stream_options"]?["include_usage"] == .bool(true))
        #expect(received.body["model"] == .string("gpt-test"))
        guard case .array(let tools)? = received.body["tools"] else { throw FakeFailure() }
        #expect(tools.first?["type"] == .string("function"))
        #expect(tools.first?["function"]?["name"] == .string("labs"))
        #expect(tools.first?["function"]?["parameters"]?["type"] == .string("object"))
        guard case .array(let messages)? = received.body["messages"] else { throw FakeFailure() }
        #expect(messages.map { $0["role"]?.stringValue } == ["system", "user", "assistant", "tool"])
        guard case .array(let calls)? = messages[2]["tool_calls"] else { throw FakeFailure() }
        #expect(calls.first?["id"] == .string("call_1"))
        #expect(calls.first?["function"]?["arguments"] == .string("{}"))
        #expect(messages[3]["tool_call_id"] == .string("call_1"))
        #expect(messages[3]["content"] == .string("none"))
        try await model.shutdown()
        await server.stop()
    }

    /// The tools' JSON is encoded once and reused while the tools stay the same: a request with
    /// other tools (a changed schema, one more tool) must carry those, not the last ones.
    @Test func changedToolsAreSentAsTheyAreNow() async throws {
        let server = try await FakeOpenAIServer(Array(repeating: .stream([finishChunk("stop")]), count: 4))
        let model = OpenAIModel(configuration: testConfiguration(.openAI(baseURL: server.baseURL, apiKey: "sk-test")))
        let labs = ToolDefinition(name: "labs", description: "Lab results", parameters: .object(["type": .string("object")]))
        var changed = labs
        changed.parameters = .object(["type": .string("object"), "required": .array([.string("code")])])
        let vitals = ToolDefinition(name: "vitals", description: "Vital signs \"today\"", parameters: .object([:]))
        for tools in [[labs], [labs], [changed], [changed, vitals]] {
            _ = await collect(model, ModelRequest(model: "gpt-test", messages: [.user("Labs?")], tools: tools))
        }
        let sent: [[JSONValue]] = server.received.map { received in
            if case .array(let tools)? = received.body["tools"] { return tools }
            return []
        }
        #expect(sent.count == 4)
        #expect(sent[0] == sent[1])
        #expect(sent[2].first?["function"]?["parameters"]?["required"] == .array([.string("code")]))
        #expect(sent[1].first?["function"]?["parameters"]?["required"] == nil)
        let last = sent[3]
        #expect(last.map { $0["function"]?["name"] } == [.string("labs"), .string("vitals")])
        #expect(last[1]["function"]?["description"] == .string("Vital signs \"today\""))
        try await model.shutdown()
        await server.stop()
    }

    @Test func azureURLAndHeaderOnTheWire() async throws {
        let server = try await FakeOpenAIServer([.stream([finishChunk("stop")])])
        let provider = OpenAIConfiguration.Provider.azure(
            endpoint: server.endpoint,
            apiKey: "az-key",
            deployment: "dep1",
            apiVersion: "2024-10-21"
        )
        let model = OpenAIModel(configuration: testConfiguration(provider))
        let (_, error) = await collect(model)
        #expect(error == nil)
        let received = try #require(server.received.first)
        #expect(received.path == "/openai/deployments/dep1/chat/completions")
        #expect(received.query == "api-version=2024-10-21")
        #expect(received.headers["api-key"] == "az-key")
        #expect(received.headers["authorization"] == nil)
        try await model.shutdown()
        await server.stop()
    }
}

struct FakeFailure: Error {}
