public import BedsideCore
import Foundation
import Synchronization

/// The JSON body of a streaming Chat Completions request.
struct ChatCompletionsBody: Encodable {
    var model: String
    var messages: [WireMessage]
    var tools: [WireTool]?
    /// The output budget, sent as `max_tokens`.
    var maxTokens: Int?
    /// The output budget, sent as `max_completion_tokens` (reasoning models).
    var maxCompletionTokens: Int?
    var stream: Bool
    var streamOptions: StreamOptions?
    /// The `tools` array already encoded (``ToolsJSON``), written in place of `tools`.
    var toolsJSON: String?

    struct StreamOptions: Encodable {
        var includeUsage = true
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    enum CodingKeys: String, CodingKey {
        case model, messages, tools, stream
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case streamOptions = "stream_options"
    }

    /// The body for `request`, streamed with usage included, or asking for one whole response;
    /// its output budget, if any, in the member `outputTokens` names.
    init(
        _ request: ModelRequest,
        streaming: Bool = true,
        outputTokens: OpenAIConfiguration.OutputTokensParameter = .maxTokens,
        toolsJSON: ToolsJSON? = nil
    ) {
        model = request.model
        messages = request.messages.map(WireMessage.init)
        if !request.tools.isEmpty {
            if let toolsJSON {
                self.toolsJSON = toolsJSON.json(for: request.tools)
            } else {
                tools = request.tools.map(WireTool.init)
            }
        }
        if outputTokens == .maxCompletionTokens {
            maxCompletionTokens = request.maxOutputTokens
        } else {
            maxTokens = request.maxOutputTokens
        }
        stream = streaming
        streamOptions = streaming ? StreamOptions() : nil
    }

    /// The body as compact JSON, written member by member with ``JSONWriter`` (the same members
    /// and values `JSONEncoder` gives, without building its intermediate containers).
    var json: String {
        var writer = JSONWriter(capacity: 4_096)
        writer.beginObject()
        writer.member("model", model)
        writer.key("messages")
        writer.beginArray()
        for message in messages { message.write(into: &writer) }
        writer.endArray()
        if let toolsJSON {
            writer.key("tools")
            writer.raw(toolsJSON)
        } else if let tools {
            writer.key("tools")
            writer.raw(Self.json(of: tools))
        }
        if let maxTokens { writer.member("max_tokens", Int64(maxTokens)) }
        if let maxCompletionTokens { writer.member("max_completion_tokens", Int64(maxCompletionTokens)) }
        writer.member("stream", stream)
        if let streamOptions {
            writer.key("stream_options")
            writer.beginObject()
            writer.member("include_usage", streamOptions.includeUsage)
            writer.endObject()
        }
        writer.endObject()
        return writer.text
    }
}

/// One message in the OpenAI shape.
struct WireMessage: Encodable {
    var role: String
    var content: String?
    var toolCalls: [WireToolCall]?
    var toolCallID: String?

    enum CodingKeys: String, CodingKey {
        case role, content
        case toolCalls = "tool_calls"
        case toolCallID = "tool_call_id"
    }

    init(_ message: ChatMessage) {
        switch message {
        case .system(let text):
            role = "system"
            content = text
        case .user(let text):
            role = "user"
            content = text
        case .assistant(let text, let calls):
            role = "assistant"
            content = text
            toolCalls = calls.isEmpty ? nil : calls.map(WireToolCall.init)
        case .tool(let callID, let text, let isError):
            role = "tool"
            content = isError ? "Error: \(text)" : text
            toolCallID = callID
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(role, forKey: .role)
        try container.encode(content, forKey: .content)  // explicit null when an assistant only called tools
        try container.encodeIfPresent(toolCalls, forKey: .toolCalls)
        try container.encodeIfPresent(toolCallID, forKey: .toolCallID)
    }

    func write(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("role", role)
        writer.member("content", content)  // explicit null when an assistant only called tools
        if let toolCalls {
            writer.key("tool_calls")
            writer.beginArray()
            for call in toolCalls {
                writer.beginObject()
                writer.member("id", call.id)
                writer.member("type", call.type)
                writer.key("function")
                writer.beginObject()
                writer.member("name", call.function.name)
                writer.member("arguments", call.function.arguments)
                writer.endObject()
                writer.endObject()
            }
            writer.endArray()
        }
        if let toolCallID { writer.member("tool_call_id", toolCallID) }
        writer.endObject()
    }
}

/// A tool call the assistant made earlier in the conversation.
struct WireToolCall: Encodable {
    var id: String
    var type = "function"
    var function: Function

    struct Function: Encodable {
        var name: String
        var arguments: String
    }

    init(_ call: ToolCall) {
        id = call.id
        function = Function(name: call.name, arguments: call.arguments)
    }
}

/// The `tools` array of a request body, encoded once for as long as the tools stay the same.
///
/// A session offers the same tools turn after turn (the array is usually the very same
/// storage, which makes the comparison free); their JSON Schemas were the largest part of each
/// request body to encode.
final class ToolsJSON: Sendable {
    private let last = Mutex<(tools: [ToolDefinition], json: String)?>(nil)

    /// The JSON array for `tools`.
    func json(for tools: [ToolDefinition]) -> String {
        if let cached = last.withLock({ $0 }), cached.tools == tools { return cached.json }
        let json = ChatCompletionsBody.json(of: tools.map(WireTool.init))
        last.withLock { $0 = (tools, json) }
        return json
    }
}

extension ChatCompletionsBody {
    /// The JSON array of `tools`.
    static func json(of tools: [WireTool]) -> String {
        var writer = JSONWriter(capacity: 2_048)
        writer.beginArray()
        for tool in tools { tool.write(into: &writer) }
        writer.endArray()
        return writer.text
    }
}

/// A tool the model may call.
struct WireTool: Encodable {
    var type = "function"
    var function: Function

    struct Function: Encodable {
        var name: String
        var description: String
        var parameters: JSONValue
    }

    init(_ tool: ToolDefinition) {
        function = Function(name: tool.name, description: tool.description, parameters: tool.parameters)
    }

    func write(into writer: inout JSONWriter) {
        writer.beginObject()
        writer.member("type", type)
        writer.key("function")
        writer.beginObject()
        writer.member("name", function.name)
        writer.member("description", function.description)
        writer.member("parameters", function.parameters)
        writer.endObject()
        writer.endObject()
    }
}

/// Reads the `data:` payloads of a streamed Chat Completions response, as Bedside's model
/// client does.
///
/// The benchmark's floor server decodes its model's stream with this too, so that the two are
/// compared on the same decoding.
public struct ChatCompletionsChunkReader: Sendable {
    private let decoder = JSONDecoder()

    public init() {}

    /// The events of one `data:` payload, in the order a consumer should see them.
    public func events(inChunk data: String) throws -> [ModelStreamEvent] {
        if let chunk = ChatChunkScanner.chunk(in: data) { return chunk.events }
        return try decoder.decode(ChatChunk.self, from: Data(data.utf8)).events
    }
}

/// One `data:` payload of the streamed response.
struct ChatChunk: Decodable, Equatable {
    var choices: [Choice]?
    var usage: Usage?

    struct Choice: Decodable, Equatable {
        var delta: Delta?
        var finishReason: String?
        enum CodingKeys: String, CodingKey {
            case delta
            case finishReason = "finish_reason"
        }
    }

    struct Delta: Decodable, Equatable {
        var content: String?
        var toolCalls: [ToolCallFragment]?
        enum CodingKeys: String, CodingKey {
            case content
            case toolCalls = "tool_calls"
        }
    }

    struct ToolCallFragment: Decodable, Equatable {
        var index: Int
        var id: String?
        var function: Function?
        struct Function: Decodable, Equatable {
            var name: String?
            var arguments: String?
        }
    }

    struct Usage: Decodable, Equatable {
        var promptTokens: Int64
        var completionTokens: Int64
        var totalTokens: Int64?
        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens"
            case completionTokens = "completion_tokens"
            case totalTokens = "total_tokens"
        }
    }

    /// The events this chunk carries, in the order a consumer should see them.
    var events: [ModelStreamEvent] {
        var events: [ModelStreamEvent] = []
        if let choice = choices?.first {
            if let text = choice.delta?.content, !text.isEmpty { events.append(.textDelta(text)) }
            for call in choice.delta?.toolCalls ?? [] {
                events.append(
                    .toolCallDelta(
                        ToolCallDelta(
                            index: call.index,
                            id: call.id,
                            name: call.function?.name,
                            argumentsFragment: call.function?.arguments ?? ""
                        )
                    )
                )
            }
            if let reason = choice.finishReason { events.append(.finish(FinishReason(rawValue: reason))) }
        }
        if let usage {
            events.append(
                .usage(
                    TokenUsage(
                        promptTokens: usage.promptTokens,
                        completionTokens: usage.completionTokens,
                        totalTokens: usage.totalTokens ?? usage.promptTokens + usage.completionTokens
                    )
                )
            )
        }
        return events
    }
}

/// A whole (non-streaming) Chat Completions response.
struct ChatCompletion: Decodable {
    var choices: [Choice]
    var usage: ChatChunk.Usage?

    struct Choice: Decodable {
        var message: Message
        var finishReason: String?
        enum CodingKeys: String, CodingKey {
            case message
            case finishReason = "finish_reason"
        }
    }

    struct Message: Decodable {
        var content: String?
        var toolCalls: [Call]?
        enum CodingKeys: String, CodingKey {
            case content
            case toolCalls = "tool_calls"
        }
    }

    struct Call: Decodable {
        var id: String?
        var function: Function
        struct Function: Decodable {
            var name: String
            var arguments: String?
        }
    }

    /// The same events a stream of this response would have produced: the text as one delta,
    /// each tool call as one whole fragment, then the finish reason and the usage.
    var events: [ModelStreamEvent] {
        var chunk = ChatChunk(choices: nil, usage: usage)
        if let choice = choices.first {
            let calls = (choice.message.toolCalls ?? []).enumerated().map { index, call in
                ChatChunk.ToolCallFragment(
                    index: index,
                    id: call.id,
                    function: .init(name: call.function.name, arguments: call.function.arguments ?? "")
                )
            }
            chunk.choices = [
                ChatChunk.Choice(
                    delta: ChatChunk.Delta(content: choice.message.content, toolCalls: calls.isEmpty ? nil : calls),
                    finishReason: choice.finishReason
                )
            ]
        }
        return chunk.events
    }
}
