/// One message of a conversation with a language model, in no provider's wire format.
///
/// A model request is the system prompt, the session's earlier turns, the user's message and,
/// within a turn, each assistant reply that asked for tools followed by one `tool` message per
/// call. Providers translate these cases into their own formats; nothing here knows about JSON
/// field names.
public enum ChatMessage: Sendable, Hashable {
    /// Instructions that frame the whole conversation.
    case system(String)
    /// What the person asked.
    case user(String)
    /// What the model answered: text, tool calls, or both. `text` is nil when the model only
    /// asked for tools.
    case assistant(text: String?, toolCalls: [ToolCall])
    /// The result of one tool call, sent back to the model. `isError` tells the model that the
    /// tool failed and `content` says why.
    case tool(callID: String, content: String, isError: Bool)

    /// An assistant message with text only.
    public static func assistant(_ text: String) -> ChatMessage {
        .assistant(text: text, toolCalls: [])
    }
}
