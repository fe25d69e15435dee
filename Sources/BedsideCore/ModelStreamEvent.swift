/// One piece of a model's streamed response.
///
/// The order of `usage` and `finish` is up to the provider (OpenAI sends the usage after the
/// finish reason), so a consumer decides what the response was only when the stream ends.
public enum ModelStreamEvent: Sendable, Hashable {
    /// The next piece of the reply's text.
    case textDelta(String)
    /// The next fragment of a tool call.
    case toolCallDelta(ToolCallDelta)
    /// The tokens this request used.
    case usage(TokenUsage)
    /// Why the model stopped.
    case finish(FinishReason)
}
