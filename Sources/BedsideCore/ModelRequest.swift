/// One request to a language model: the conversation so far and the tools it may call.
public struct ModelRequest: Sendable, Hashable {
    /// The model (or Azure deployment) to ask, e.g. `gpt-4o-mini`.
    public var model: String
    /// The conversation, oldest first, starting with the system prompt.
    public var messages: [ChatMessage]
    /// The tools the model may ask for; empty when it may not call any.
    public var tools: [ToolDefinition]
    /// The most tokens the response may generate (`max_tokens` or `max_completion_tokens` on
    /// the OpenAI wire); nil leaves it to the model's own limit.
    public var maxOutputTokens: Int?

    public init(model: String, messages: [ChatMessage], tools: [ToolDefinition] = [], maxOutputTokens: Int? = nil) {
        self.model = model
        self.messages = messages
        self.tools = tools
        self.maxOutputTokens = maxOutputTokens
    }
}
