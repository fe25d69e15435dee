import BedsideCore
import BedsideOpenAI
import BedsideTestSupport
import Testing

/// A server that refuses `stream: true` together with tools (as some llama.cpp server builds
/// do) is asked once more without streaming, and its whole answer becomes the usual events.
@Suite struct NonStreamingTests {
    static let refusal = #"{"error":{"code":500,"message":"Cannot use tools with stream","type":"server_error"}}"#

    static let toolCompletion = """
        {"id":"c1","object":"chat.completion","model":"llama","choices":[{"index":0,"message":{"role":"assistant",\
        "content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"search","arguments":"{\\"q\\":\\"a1c\\"}"}},\
        {"id":"call_2","type":"function","function":{"name":"read","arguments":"{}"}}]},"finish_reason":"tool_calls"}],\
        "usage":{"prompt_tokens":30,"completion_tokens":9,"total_tokens":39}}
        """

    static let textCompletion = """
        {"id":"c2","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"HbA1c 7.1%"},\
        "finish_reason":"stop"}],"usage":{"prompt_tokens":50,"completion_tokens":4,"total_tokens":54}}
        """

    static let tool = ToolDefinition(name: "search", description: "Search", parameters: .object(["type": .string("object")]))

    @Test func aRefusedStreamIsAskedOnceMoreWithoutStreaming() async throws {
        let server = try await FakeOpenAIServer([
            .status(500, body: Self.refusal), .completion(Self.toolCompletion), .completion(Self.textCompletion),
        ])
        let model = OpenAIModel(configuration: testConfiguration(.openAI(baseURL: server.baseURL, apiKey: "sk-test"), attempts: 1))
        let request = ModelRequest(model: "gpt-test", messages: [.user("Latest A1c?")], tools: [Self.tool])
        let (events, error) = await collect(model, request)
        #expect(error == nil)
        #expect(
            events == [
                .toolCallDelta(ToolCallDelta(index: 0, id: "call_1", name: "search", argumentsFragment: #"{"q":"a1c"}"#)),
                .toolCallDelta(ToolCallDelta(index: 1, id: "call_2", name: "read", argumentsFragment: "{}")),
                .finish(.toolCalls),
                .usage(TokenUsage(promptTokens: 30, completionTokens: 9, totalTokens: 39)),
            ]
        )
        // The next request with tools goes without streaming straight away.
        let (second, secondError) = await collect(model, request)
        #expect(secondError == nil)
        #expect(
            second == [
                .textDelta("HbA1c 7.1%"), .finish(.stop), .usage(TokenUsage(promptTokens: 50, completionTokens: 4, totalTokens: 54)),
            ]
        )
        let bodies = server.received.map(\.body)
        #expect(bodies.map { $0["stream"] } == [.bool(true), .bool(false), .bool(false)])
        #expect(bodies[1]["stream_options"] == nil)
        #expect(server.received[1].headers["accept"] == "application/json")
        try await model.shutdown()
        await server.stop()
    }

    @Test func withoutToolsARefusalIsAnOrdinaryError() async throws {
        let server = try await FakeOpenAIServer([.status(400, body: Self.refusal)])
        let model = OpenAIModel(configuration: testConfiguration(.openAI(baseURL: server.baseURL, apiKey: "sk-test")))
        let (events, error) = await collect(model)
        #expect(events.isEmpty)
        let modelError = try #require(error as? ModelError)
        #expect(modelError.httpStatus == 400)
        #expect(server.received.count == 1)
        try await model.shutdown()
        await server.stop()
    }

    @Test func anOrdinary500IsRetriedNotTakenForARefusal() async throws {
        let server = try await FakeOpenAIServer([.status(500), .stream([textChunk("ok"), finishChunk("stop")])])
        let model = OpenAIModel(configuration: testConfiguration(.openAI(baseURL: server.baseURL, apiKey: "sk-test")))
        let request = ModelRequest(model: "gpt-test", messages: [.user("hi")], tools: [Self.tool])
        let (events, error) = await collect(model, request)
        #expect(error == nil)
        #expect(events == [.textDelta("ok"), .finish(.stop)])
        #expect(server.received.map { $0.body["stream"] } == [.bool(true), .bool(true)])
        try await model.shutdown()
        await server.stop()
    }

    @Test func aMalformedWholeResponseIsAnError() async throws {
        let server = try await FakeOpenAIServer([.status(500, body: Self.refusal), .completion("{\"choices\": 7}")])
        let model = OpenAIModel(configuration: testConfiguration(.openAI(baseURL: server.baseURL, apiKey: "sk-test"), attempts: 1))
        let request = ModelRequest(model: "gpt-test", messages: [.user("hi")], tools: [Self.tool])
        let (_, error) = await collect(model, request)
        let modelError = try #require(error as? ModelError)
        #expect(modelError.message.hasPrefix("The model endpoint sent a malformed response"))
        try await model.shutdown()
        await server.stop()
    }
}
