import BedsideCore
import BedsideProtocol
import BedsideServer
import Synchronization

/// A turn runner that plays a script instead of calling a model: the test double at the
/// `TurnRunner` seam. Each turn streams `deltas` assistant deltas (each `deltaSize` characters,
/// `delay` apart), a tool call and result, then the final reply.
///
/// Special messages: `"wait"` runs until cancelled; `"fail"` throws a `TurnFailure`;
/// `"crash"` throws an unexpected error.
struct ScriptedRunner: TurnRunner {
    var deltas = 3
    var deltaSize = 8
    var delay: Duration = .zero
    let turnsRun = Counter()

    var description: String { "scripted test runner" }

    func run(_ turn: TurnContext) async throws -> TurnUsage {
        turnsRun.increment()
        switch turn.content {
        case "wait":
            try await Task.sleep(for: .seconds(60))
        case "fail":
            throw TurnFailure(code: .llmError, message: "The model said no.")
        case "crash":
            throw TestFailure("unexpected")
        default:
            break
        }
        turn.emit(.openaiCall(model: "scripted", provider: "test"))
        let messageID = "msg-\(turn.turnID)"
        var reply = ""
        let chunk = String(repeating: "x", count: deltaSize)
        for index in 0..<deltas {
            if delay > .zero { try await Task.sleep(for: delay) }
            try Task.checkCancellation()
            let text = index == 0 ? "Re: \(turn.content.prefix(20)) " : chunk
            reply += text
            turn.emit(.assistant(AssistantEvent(content: text, streaming: true, messageID: messageID)))
        }
        turn.emit(.toolCall(toolCallID: "call-1", toolName: "search", arguments: .object(["q": .string(turn.content)])))
        turn.emit(
            .toolResult(ToolResultEvent(toolCallID: "call-1", toolName: "search", result: "[]", durationMilliseconds: 0.5, isError: false))
        )
        turn.emit(
            .openaiResponse(
                ModelResponseEvent(
                    model: "scripted",
                    promptTokens: 10,
                    completionTokens: 5,
                    totalTokens: 15,
                    durationMilliseconds: 1,
                    finishReason: "stop"
                )
            )
        )
        turn.emit(.assistant(AssistantEvent(content: reply, streaming: false, messageID: messageID)))
        return TurnUsage(promptTokens: 10, completionTokens: 5)
    }
}

final class Counter: Sendable {
    private let value = Mutex(0)
    func increment() { value.withLock { $0 += 1 } }
    var count: Int { value.withLock { $0 } }
}
