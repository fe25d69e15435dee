import BedsideAgent
import BedsideCore
import BedsideOpenAI
import BedsideServer
import BedsideTestSupport
import Foundation
import Testing

/// The whole product path: a WebSocket client, the session hub, the agent and the OpenAI client,
/// against an in-test server that speaks the real Chat Completions streaming wire format.
@Suite struct OpenAIWireTurnTests {
    /// A running Bedside whose agent talks to `fake` through ``OpenAIModel``.
    struct Rig {
        let fake: FakeOpenAIServer
        let model: OpenAIModel
        let server: LiveServer

        static func start(_ replies: [Reply], attempts: Int = 3, stall: Duration = .seconds(5)) async throws -> Rig {
            let fake = try await FakeOpenAIServer(replies)
            let model = OpenAIModel(
                configuration: OpenAIConfiguration(
                    provider: .openAI(baseURL: fake.baseURL, apiKey: "sk-test"),
                    model: "gpt-wire",
                    timeouts: .init(connect: .seconds(2), firstToken: .seconds(5), stalledStream: stall),
                    retry: .init(maxAttempts: attempts, baseDelay: .milliseconds(20), maxDelay: .milliseconds(100))
                )
            )
            let server = try await LiveServer.start(runner: AgentTurnRunner(model: model, tools: ChartTools()))
            return Rig(fake: fake, model: model, server: server)
        }

        /// Sends one message in a new session and returns every event of its turn.
        func turn(_ content: String) async throws -> [JSONValue] {
            let session = newSessionID()
            let socket = try await server.open(session)
            try await socket.send(Frame.message(session, content))
            let events = try await socket.receiveTurn()
            try await socket.close()
            return events
        }

        func stop() async throws {
            try await server.stop()
            try await model.shutdown()
            await fake.stop()
        }
    }

    @Test func aToolRoundOverTheWireEmitsEveryStepInOrder() async throws {
        let rig = try await Rig.start([
            .stream([
                toolChunk(index: 0, id: "call_1", name: "latest_lab", arguments: ""),
                toolChunk(index: 0, arguments: "{\"pat"),
                toolChunk(index: 0, arguments: "ient\":\"pat-1\","),
                toolChunk(index: 0, arguments: "\"code\":\"4548"),
                toolChunk(index: 0, arguments: "-4\"}"),
                finishChunk("tool_calls"), usageChunk(prompt: 310, completion: 24),
            ]),
            .stream([
                textChunk("HbA1c "), textChunk("was 7.1% "), textChunk("(Observation/obs-9)."),
                finishChunk("stop"), usageChunk(prompt: 402, completion: 11),
            ]),
        ])
        let events = try await rig.turn("Latest HbA1c?")
        #expect(
            events.map(\.type) == [
                "user", "turn", "openai_call", "openai_response", "tool_call", "tool_result", "openai_call",
                "assistant", "assistant", "assistant", "assistant", "openai_response", "turn",
            ]
        )
        #expect(events[1].status == "started")
        #expect(events[2]["model"]?.stringValue == "gpt-wire")
        #expect(events[2]["provider"]?.stringValue == "openai")
        #expect(events[3]["prompt_tokens"]?.integerValue == 310)
        #expect(events[3]["completion_tokens"]?.integerValue == 24)
        #expect(events[3]["total_tokens"]?.integerValue == 334)
        #expect(events[3]["finish_reason"]?.stringValue == "tool_calls")
        #expect(events[4]["tool_name"]?.stringValue == "latest_lab")
        #expect(events[4]["tool_call_id"]?.stringValue == "call_1")
        #expect(events[4]["arguments"] == ["patient": "pat-1", "code": "4548-4"])
        #expect(events[5]["result"]?.stringValue == #"{"code":"4548-4","value":7.1,"unit":"%","id":"obs-9"}"#)
        #expect(events[5]["is_error"] == .bool(false))
        #expect(events[7...9].compactMap { $0["content"]?.stringValue } == ["HbA1c ", "was 7.1% ", "(Observation/obs-9)."])
        #expect(events[10]["streaming"] == .bool(false))
        #expect(events[10]["content"]?.stringValue == "HbA1c was 7.1% (Observation/obs-9).")
        #expect(events[11]["total_tokens"]?.integerValue == 413)
        #expect(events[11]["finish_reason"]?.stringValue == "stop")
        let end = try #require(events.last)
        #expect(end.status == "completed")
        #expect(end["prompt_tokens"]?.integerValue == 712)
        #expect(end["completion_tokens"]?.integerValue == 35)
        #expect(end["total_tokens"]?.integerValue == 747)

        // The second request carries the tool call and its result back to the model.
        let second = try #require(rig.fake.received.last?.body["messages"])
        guard case .array(let messages) = second else { throw TestFailure("messages is not an array") }
        #expect(messages.map { $0["role"]?.stringValue } == ["system", "user", "assistant", "tool"])
        guard case .array(let calls)? = messages[2]["tool_calls"] else { throw TestFailure("no tool_calls") }
        #expect(calls.first?["function"]?["arguments"]?.stringValue == #"{"patient":"pat-1","code":"4548-4"}"#)
        #expect(messages[3]["tool_call_id"]?.stringValue == "call_1")
        try await rig.stop()
    }

    @Test func readyShowsTheModelButNeverTheKey() async throws {
        let rig = try await Rig.start([])
        let (status, body) = try await rig.server.get("/ready")
        #expect(status == 200)
        let readiness = try JSONValue.parse(body)
        #expect(readiness["model"] == ["provider": "openai", "name": "gpt-wire", "endpoint": .string(rig.fake.baseURL)])
        #expect(readiness["checks"]?["turn_runner"]?.stringValue == "agent with openai model gpt-wire")
        #expect(!body.contains("sk-test"))
        try await rig.stop()
    }

    @Test func twoToolCallsInOneResponseBothRunAndReturn() async throws {
        let rig = try await Rig.start([
            .stream([
                toolChunk(index: 0, id: "call_a", name: "latest_lab", arguments: "{\"patient\":"),
                toolChunk(index: 1, id: "call_b", name: "list_conditions", arguments: "{\"patient\""),
                toolChunk(index: 0, arguments: "\"pat-1\",\"code\":\"2339-0\"}"),
                toolChunk(index: 1, arguments: ":\"pat-1\"}"),
                finishChunk("tool_calls"), usageChunk,
            ]),
            .stream([textChunk("Done."), finishChunk("stop"), usageChunk]),
        ])
        let events = try await rig.turn("Glucose and conditions?")
        let calls = events.filter { $0.type == "tool_call" }
        let results = events.filter { $0.type == "tool_result" }
        #expect(Set(calls.compactMap { $0["tool_call_id"]?.stringValue }) == ["call_a", "call_b"])
        #expect(Set(results.compactMap { $0["tool_call_id"]?.stringValue }) == ["call_a", "call_b"])
        let byID = Dictionary(uniqueKeysWithValues: calls.map { ($0["tool_call_id"]?.stringValue ?? "", $0) })
        #expect(byID["call_a"]?["arguments"] == ["patient": "pat-1", "code": "2339-0"])
        #expect(byID["call_b"]?["arguments"] == ["patient": "pat-1"])
        // Both calls start before either result: they run at the same time.
        let lastCall = try #require(events.lastIndex { $0.type == "tool_call" })
        let firstResult = try #require(events.firstIndex { $0.type == "tool_result" })
        #expect(lastCall < firstResult)
        #expect(events.last?.status == "completed")
        #expect(events.last?["total_tokens"]?.integerValue == 34)
        guard case .array(let messages)? = rig.fake.received.last?.body["messages"] else { throw TestFailure("no messages") }
        #expect(messages.map { $0["role"]?.stringValue } == ["system", "user", "assistant", "tool", "tool"])
        try await rig.stop()
    }

    @Test func a429WithRetryAfterIsWaitedOutAndTheTurnCompletes() async throws {
        let rig = try await Rig.start([.status(429, retryAfter: "1"), .stream([textChunk("Fine."), finishChunk("stop"), usageChunk])])
        let events = try await rig.turn("Hello")
        #expect(events.map(\.type) == ["user", "turn", "openai_call", "assistant", "assistant", "openai_response", "turn"])
        #expect(events.last?.status == "completed")
        let received = rig.fake.received
        #expect(received.count == 2)
        if received.count == 2 { #expect(received[1].at - received[0].at >= .milliseconds(950)) }
        try await rig.stop()
    }

    @Test(arguments: [
        FaultCase.serverErrors, .malformedChunk, .cutMidStream, .stalledStream, .unauthorized,
    ])
    func aFaultEndsTheTurnFailedWithItsCodeAndMessage(_ fault: FaultCase) async throws {
        let rig = try await Rig.start(fault.replies, stall: fault.stall)
        let events = try await rig.turn("Hello")
        let error = try #require(events.first { $0.type == "error" })
        #expect(error.code == fault.code)
        #expect(error["error"]?.stringValue?.contains(fault.message) == true, "\(error)")
        #expect(error.seq != nil)  // a turn's error belongs to the session's history
        #expect(events.last?.status == "failed")
        #expect(events.filter { $0.type == "turn" }.count == 2)
        #expect(rig.fake.received.count == fault.requests)
        try await rig.stop()
    }

    @Test func aServerThatRefusesToStreamWithToolsGivesTheSameEvents() async throws {
        let refusal = #"{"error":{"code":500,"message":"Cannot use tools with stream","type":"server_error"}}"#
        let toolCompletion = """
            {"choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1",\
            "type":"function","function":{"name":"list_conditions","arguments":"{\\"patient\\":\\"pat-1\\"}"}}]},\
            "finish_reason":"tool_calls"}],"usage":{"prompt_tokens":40,"completion_tokens":8,"total_tokens":48}}
            """
        let textCompletion = """
            {"choices":[{"index":0,"message":{"role":"assistant","content":"Hypertension (Condition/c-1)."},\
            "finish_reason":"stop"}],"usage":{"prompt_tokens":60,"completion_tokens":6,"total_tokens":66}}
            """
        let rig = try await Rig.start([.status(500, body: refusal), .completion(toolCompletion), .completion(textCompletion)])
        let events = try await rig.turn("Conditions?")
        #expect(
            events.map(\.type) == [
                "user", "turn", "openai_call", "openai_response", "tool_call", "tool_result", "openai_call",
                "assistant", "assistant", "openai_response", "turn",
            ]
        )
        #expect(events[4]["arguments"] == ["patient": "pat-1"])
        #expect(events[8]["content"]?.stringValue == "Hypertension (Condition/c-1).")
        #expect(events.last?["total_tokens"]?.integerValue == 114)
        #expect(rig.fake.received.map { $0.body["stream"] } == [.bool(true), .bool(false), .bool(false)])
        try await rig.stop()
    }

    @Test func cancelLatencyOverTheWireIsUnder100ms() async throws {
        let chunks = (0..<300).map { textChunk("w\($0) ") } + [finishChunk("stop"), usageChunk]
        let rig = try await Rig.start([.stream(chunks, interval: .milliseconds(10))])
        let session = newSessionID()
        let socket = try await rig.server.open(session)
        let (rest, elapsed) = try await socket.cancelMidReply(in: session)
        #expect(rest.last { $0.type == "assistant" }?["content"]?.stringValue?.hasPrefix("w0 ") == true)
        #expect(elapsed < .milliseconds(100), "cancel took \(elapsed)")
        try await socket.close()
        try await rig.stop()
    }
}

/// A model endpoint fault and how the turn must end.
struct FaultCase: Sendable, CustomTestStringConvertible {
    var name: String
    var replies: [Reply]
    var code: String
    var message: String
    var requests: Int
    /// The stall timeout: short only where the stall is the fault, so a busy machine cannot fake one.
    var stall: Duration = .seconds(5)
    var testDescription: String { name }

    static let serverErrors = FaultCase(
        name: "500 on every attempt",
        replies: [.status(500), .status(500), .status(500)],
        code: "llm_error",
        message: "500 from the model endpoint",
        requests: 3
    )
    static let malformedChunk = FaultCase(
        name: "malformed chunk",
        replies: [.stream([textChunk("a"), "{not json"])],
        code: "llm_error",
        message: "malformed stream chunk",
        requests: 1
    )
    static let cutMidStream = FaultCase(
        name: "connection cut mid-stream",
        replies: [.stream([textChunk("a"), textChunk("b"), textChunk("c")], cut: 2)],
        code: "llm_error",
        message: "closed the stream before it finished",
        requests: 1
    )
    static let stalledStream = FaultCase(
        name: "stalled stream",
        replies: [.stream([textChunk("a"), textChunk("b")], pause: .seconds(30))],
        code: "llm_error",
        message: "stalled",
        requests: 1,
        stall: .milliseconds(300)
    )
    static let unauthorized = FaultCase(
        name: "401",
        replies: [.status(401)],
        code: "llm_unavailable",
        message: "401 from the model endpoint: check OPENAI_API_KEY",
        requests: 1
    )
}

/// Two read-only tools answering from a fixed chart.
struct ChartTools: Toolset {
    func definitions() async throws -> [ToolDefinition] {
        [
            ToolDefinition(
                name: "latest_lab",
                description: "The latest lab value of a patient by LOINC code.",
                parameters: ["type": "object", "properties": ["patient": ["type": "string"], "code": ["type": "string"]]]
            ),
            ToolDefinition(
                name: "list_conditions",
                description: "A patient's active conditions.",
                parameters: ["type": "object", "properties": ["patient": ["type": "string"]]]
            ),
        ]
    }

    func call(_ name: String, arguments: JSONValue) async throws -> ToolOutput {
        try await Task.sleep(for: .milliseconds(30))
        switch name {
        case "latest_lab":
            let code = arguments["code"]?.stringValue ?? "?"
            return ToolOutput(content: #"{"code":"\#(code)","value":7.1,"unit":"%","id":"obs-9"}"#, isError: false)
        default:
            return ToolOutput(content: #"{"conditions":[{"id":"c-1","display":"Hypertension"}]}"#, isError: false)
        }
    }
}
