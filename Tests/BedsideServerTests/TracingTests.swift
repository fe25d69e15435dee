import BedsideCore
import BedsideProtocol
import BedsideTestSupport
import Foundation
import Testing

/// The spans of a turn, exported by swift-otel over OTLP/HTTP to an in-test receiver that
/// decodes the real protobuf payload, against the live events of the same turn.
@Suite struct TracingTests {
    /// Waits for the turn's spans: the root, two `chat`, two `execute_tool` and the model HTTP requests.
    static func spans(of events: [JSONValue], from receiver: OTLPReceiver) async throws -> [OTLPSpan] {
        let traceID = try #require(events.last?["trace_id"]?.stringValue)
        return try await receiver.spans(atLeast: 7, within: .seconds(30)) { $0.traceID == traceID }
    }

    @Test func aTurnWithTwoToolCallsExportsItsSpanTreeWithTheEventsIDsAndTimes() async throws {
        let receiver = try await OTLPReceiver()
        let rig = try await TraceRig.start(TraceRig.twoToolReplies, tracesURL: "\(receiver.endpoint)/v1/traces")
        let (session, events) = try await rig.turn("Glucose and conditions?")
        #expect(events.last?.status == "completed")
        let spans = try await Self.spans(of: events, from: receiver)

        // The tree: invoke_agent → chat ×2 (each → the HTTP request), execute_tool ×2.
        let root = try #require(spans.first { $0.name == "invoke_agent bedside" })
        #expect(root.parentSpanID.isEmpty)
        #expect(root.serviceName == "bedside-test")
        #expect(root.attributes["gen_ai.operation.name"] == .string("invoke_agent"))
        #expect(root.attributes["gen_ai.conversation.id"] == .string(session))
        #expect(root.attributes["gen_ai.agent.name"] == .string("bedside"))
        #expect(root.attributes["bedside.turn.id"]?.string == events.last?["turn_id"]?.stringValue)
        #expect(root.attributes["gen_ai.usage.input_tokens"] == .int(712))
        #expect(root.attributes["gen_ai.usage.output_tokens"] == .int(35))
        #expect(root.status == .unset)
        let chats = spans.filter { $0.name == "chat gpt-wire" }.sorted { $0.startNanoseconds < $1.startNanoseconds }
        let tools = spans.filter { $0.name.hasPrefix("execute_tool ") }
        #expect(chats.count == 2)
        #expect(Set(tools.map(\.name)) == ["execute_tool latest_lab", "execute_tool list_conditions"])
        for span in chats + tools {
            #expect(span.parentSpanID == root.spanID, "\(span.name)")
            #expect(root.startNanoseconds <= span.startNanoseconds && span.endNanoseconds <= root.endNanoseconds)
        }
        for (chat, (input, output, reason)) in zip(chats, [(310, 24, "tool_calls"), (402, 11, "stop")]) {
            #expect(chat.kind == .client)
            #expect(chat.attributes["gen_ai.operation.name"] == .string("chat"))
            #expect(chat.attributes["gen_ai.provider.name"] == .string("openai"))
            #expect(chat.attributes["gen_ai.request.model"] == .string("gpt-wire"))
            #expect(chat.attributes["gen_ai.response.model"] == .string("gpt-wire"))
            #expect(chat.attributes["gen_ai.usage.input_tokens"] == .int(Int64(input)))
            #expect(chat.attributes["gen_ai.usage.output_tokens"] == .int(Int64(output)))
            #expect(chat.attributes["gen_ai.response.finish_reasons"] == .array([.string(reason)]))
            #expect(chat.attributes["server.address"] == .string("127.0.0.1"))
            #expect(chat.attributes["server.port"] == .int(Int64(rig.fake.port)))
            // The model's HTTP request is a client span beneath the chat span.
            let requests = spans.filter { $0.parentSpanID == chat.spanID }
            #expect(requests.count == 1)
            #expect(requests.first?.kind == .client)
            #expect(requests.first?.name == "POST")
        }
        for tool in tools {
            let id = try #require(tool.attributes["gen_ai.tool.call.id"]?.string)
            #expect(tool.attributes["gen_ai.operation.name"] == .string("execute_tool"))
            #expect(tool.attributes["gen_ai.tool.name"]?.string == String(tool.name.dropFirst("execute_tool ".count)))
            #expect(tool.attributes["gen_ai.tool.type"] == .string("function"))
            #expect((tool.attributes["bedside.tool.arguments.size"]?.int ?? 0) > 0)
            #expect((tool.attributes["bedside.tool.result.size"]?.int ?? 0) > 0)
            #expect(["call_a", "call_b"].contains(id))
            #expect(tool.status == .unset)
        }

        // traceparent reached the model endpoint: the trace, and the HTTP span as parent.
        for (request, chat) in zip(rig.fake.received, chats) {
            let parts = try #require(request.headers["traceparent"]).split(separator: "-").map(String.init)
            #expect(parts.count == 4)
            #expect(parts[1] == root.traceID)
            #expect(spans.first { $0.spanID == parts[2] }?.parentSpanID == chat.spanID)
        }

        // One code path: each event carries its span's ids, start and duration.
        let byID = Dictionary(uniqueKeysWithValues: spans.map { ($0.spanID, $0) })
        let calls = events.filter { $0.type == "openai_call" }
        let responses = events.filter { $0.type == "openai_response" }
        #expect(calls.map { $0["span_id"]?.stringValue } == chats.map(\.spanID))
        #expect(responses.map { $0["span_id"]?.stringValue } == chats.map(\.spanID))
        for event in events where event.type != "user" && !(event.type == "turn" && event.status == "started") {
            #expect(event["trace_id"]?.stringValue == root.traceID, "\(event)")
            #expect(byID[event["span_id"]?.stringValue ?? ""] != nil, "\(event)")
        }
        for event in events where event.type == "openai_call" || event.type == "tool_call" {
            let span = try #require(byID[event["span_id"]?.stringValue ?? ""])
            let timestamp = try #require(event["timestamp"]?.stringValue.flatMap(Timestamp.init(iso8601:)))
            #expect(timestamp.microseconds == Int64(span.startNanoseconds / 1_000), "\(event)")
        }
        for event in events where event.type == "openai_response" || event.type == "tool_result" {
            let span = try #require(byID[event["span_id"]?.stringValue ?? ""])
            let milliseconds = try #require(event["duration_ms"].flatMap(Self.number))
            #expect(abs(milliseconds * 1_000_000 - Double(span.durationNanoseconds)) < 1_000, "\(event)")
            let timestamp = try #require(event["timestamp"]?.stringValue.flatMap(Timestamp.init(iso8601:)))
            #expect(timestamp.microseconds == Int64(span.endNanoseconds / 1_000), "\(event)")
        }
        for event in events where event.type == "tool_call" {
            let span = try #require(byID[event["span_id"]?.stringValue ?? ""])
            #expect(span.attributes["gen_ai.tool.call.id"]?.string == event["tool_call_id"]?.stringValue)
        }
        #expect(events.last?["span_id"]?.stringValue == root.spanID)

        // Patient data stays out by default.
        let contentKeys = ["gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result"]
        for span in spans {
            for key in contentKeys { #expect(span.attributes[key] == nil, "\(span.name) has \(key)") }
        }
        try await rig.stop()
        await receiver.stop()
    }

    @Test func contentIsOnSpansOnlyWhenCaptureIsOn() async throws {
        let receiver = try await OTLPReceiver()
        let rig = try await TraceRig.start(
            TraceRig.twoToolReplies,
            tracesURL: "\(receiver.endpoint)/v1/traces",
            captureContent: true
        )
        let (_, events) = try await rig.turn("Glucose and conditions?")
        let spans = try await Self.spans(of: events, from: receiver)
        let chats = spans.filter { $0.name == "chat gpt-wire" }.sorted { $0.startNanoseconds < $1.startNanoseconds }
        #expect(chats.count == 2)
        let input = try JSONValue.parse(try #require(chats.first?.attributes["gen_ai.input.messages"]?.string))
        guard case .array(let messages) = input else { throw TestFailure("input messages are not an array") }
        #expect(messages.map { $0["role"]?.stringValue } == ["system", "user"])
        #expect(messages.last?["parts"] == .array([["type": "text", "content": "Glucose and conditions?"]]))
        let firstOutput = try JSONValue.parse(try #require(chats.first?.attributes["gen_ai.output.messages"]?.string))
        #expect(Self.first(firstOutput)?["finish_reason"] == "tool_calls")
        let answer = try JSONValue.parse(try #require(chats.last?.attributes["gen_ai.output.messages"]?.string))
        #expect(Self.first(answer)?["parts"] == .array([["type": "text", "content": "Glucose 5.4; hypertension."]]))
        let secondInput = try #require(chats.last?.attributes["gen_ai.input.messages"]?.string)
        #expect(secondInput.contains("tool_call_response"))
        let byID = Dictionary(uniqueKeysWithValues: spans.map { ($0.spanID, $0) })
        for event in events where event.type == "tool_result" {
            let span = try #require(byID[event["span_id"]?.stringValue ?? ""])
            #expect(span.attributes["gen_ai.tool.call.result"]?.string == event["result"]?.stringValue)
        }
        for event in events where event.type == "tool_call" {
            let span = try #require(byID[event["span_id"]?.stringValue ?? ""])
            let arguments = try JSONValue.parse(try #require(span.attributes["gen_ai.tool.call.arguments"]?.string))
            #expect(arguments == event["arguments"])
        }
        try await rig.stop()
        await receiver.stop()
    }

    @Test func aFailedModelRequestSetsTheErrorStatusAndType() async throws {
        let receiver = try await OTLPReceiver()
        let rig = try await TraceRig.start([.status(401)], tracesURL: "\(receiver.endpoint)/v1/traces")
        let (_, events) = try await rig.turn("Hello")
        #expect(events.last?.status == "failed")
        let traceID = try #require(events.last?["trace_id"]?.stringValue)
        let spans = try await receiver.spans(atLeast: 3, within: .seconds(30)) { $0.traceID == traceID }
        let root = try #require(spans.first { $0.name == "invoke_agent bedside" })
        let chat = try #require(spans.first { $0.name == "chat gpt-wire" })
        #expect(root.status == .error)
        #expect(root.attributes["error.type"] == .string("401"))
        #expect(chat.status == .error)
        #expect(chat.attributes["error.type"] == .string("401"))
        #expect(chat.parentSpanID == root.spanID)
        try await rig.stop()
        await receiver.stop()
    }

    @Test func withTracingOffEventsCarryNoTraceIDs() async throws {
        let rig = try await TraceRig.start(TraceRig.twoToolReplies, tracesURL: nil)
        let (_, events) = try await rig.turn("Glucose and conditions?")
        #expect(events.last?.status == "completed")
        #expect(events.allSatisfy { $0["trace_id"] == nil && $0["span_id"] == nil })
        #expect(rig.fake.received.allSatisfy { $0.headers["traceparent"] == nil })
        try await rig.stop()
    }

    static func number(_ value: JSONValue) -> Double? {
        switch value {
        case .number(let number): number
        case .integer(let integer): Double(integer)
        default: nil
        }
    }

    static func first(_ value: JSONValue) -> JSONValue? {
        if case .array(let items) = value { return items.first }
        return nil
    }
}
