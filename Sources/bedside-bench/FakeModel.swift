import BedsideTestSupport

/// The benchmark's model: an OpenAI-compatible streaming server that answers every first
/// request of a turn with one tool call, and every request that carries the tool's result with
/// `tokens` text deltas `interval` apart.
struct FakeModel {
    var tokens: Int
    var interval: Duration
    var toolName: String
    var toolArguments: String

    /// The model's own time per turn: the gaps between the text reply's payloads
    /// (the tokens, the finish and the usage).
    var ownTime: Duration { interval * (tokens + 1) }

    func start() async throws -> FakeOpenAIServer {
        let toolReply = Reply.stream([
            toolChunk(index: 0, id: "call_bench", name: toolName, arguments: toolArguments),
            finishChunk("tool_calls"),
            usageChunk(prompt: 120, completion: 12),
        ])
        let words = ["The ", "patient ", "has ", "two ", "active ", "conditions ", "and ", "stable ", "vitals. "]
        let textPayloads =
            (0..<tokens).map { textChunk(words[$0 % words.count]) } + [
                finishChunk("stop"), usageChunk(prompt: 300, completion: tokens),
            ]
        let textReply = Reply.stream(textPayloads, interval: interval)
        return try await FakeOpenAIServer { body in
            body.contains(#""role":"tool""#) ? textReply : toolReply
        }
    }
}
