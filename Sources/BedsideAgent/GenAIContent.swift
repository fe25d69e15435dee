import BedsideCore

/// Messages in the JSON shape of the GenAI conventions' `gen_ai.input.messages` and
/// `gen_ai.output.messages`: a list of `{role, parts}` with `text`, `tool_call` and
/// `tool_call_response` parts. Only written when content capture is on.
enum GenAIContent {
    static func messages(_ messages: [ChatMessage]) -> String {
        var writer = JSONWriter(capacity: 256)
        writer.beginArray()
        for message in messages { write(message, into: &writer) }
        writer.endArray()
        return writer.text
    }

    static func output(text: String?, toolCalls: [ToolCall], finishReason: String?) -> String {
        var writer = JSONWriter(capacity: 256)
        writer.beginArray()
        writer.beginObject()
        writer.member("role", "assistant")
        writer.key("parts")
        writeParts(text: text, toolCalls: toolCalls, into: &writer)
        writer.member("finish_reason", finishReason)
        writer.endObject()
        writer.endArray()
        return writer.text
    }

    private static func write(_ message: ChatMessage, into writer: inout JSONWriter) {
        writer.beginObject()
        switch message {
        case .system(let text):
            writer.member("role", "system")
            writer.key("parts")
            writeParts(text: text, toolCalls: [], into: &writer)
        case .user(let text):
            writer.member("role", "user")
            writer.key("parts")
            writeParts(text: text, toolCalls: [], into: &writer)
        case .assistant(let text, let toolCalls):
            writer.member("role", "assistant")
            writer.key("parts")
            writeParts(text: text, toolCalls: toolCalls, into: &writer)
        case .tool(let callID, let content, _):
            writer.member("role", "tool")
            writer.key("parts")
            writer.beginArray()
            writer.beginObject()
            writer.member("type", "tool_call_response")
            writer.member("id", callID)
            writer.member("response", content)
            writer.endObject()
            writer.endArray()
        }
        writer.endObject()
    }

    private static func writeParts(text: String?, toolCalls: [ToolCall], into writer: inout JSONWriter) {
        writer.beginArray()
        if let text, !text.isEmpty {
            writer.beginObject()
            writer.member("type", "text")
            writer.member("content", text)
            writer.endObject()
        }
        for call in toolCalls {
            writer.beginObject()
            writer.member("type", "tool_call")
            writer.member("id", call.id)
            writer.member("name", call.name)
            writer.member("arguments", call.arguments)
            writer.endObject()
        }
        writer.endArray()
    }
}
