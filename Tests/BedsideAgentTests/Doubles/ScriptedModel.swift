import BedsideCore
import Synchronization

/// A language model that plays scripted responses in order and records the requests it got.
///
/// Each response is a list of steps: an event to stream, a pause, or a failure. Pauses are real
/// sleeps that end early, with the stream, when the consuming task is cancelled.
final class ScriptedModel: LanguageModel {
    /// One step of a scripted response.
    enum Step: Sendable {
        case event(ModelStreamEvent)
        case pause(Duration)
        case fail(any Error)
    }

    private struct State {
        var responses: [[Step]]
        var requests: [ModelRequest] = []
        var cancelledStreams = 0
    }

    let modelName = "gpt-test"
    let providerName = "scripted"
    private let state: Mutex<State>

    init(_ responses: [[Step]]) {
        state = Mutex(State(responses: responses))
    }

    /// The requests received, in order.
    var requests: [ModelRequest] { state.withLock { $0.requests } }

    /// How many streams stopped because their consumer was cancelled.
    var cancelledStreams: Int { state.withLock { $0.cancelledStreams } }

    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        let steps = state.withLock { state -> [Step] in
            state.requests.append(request)
            guard !state.responses.isEmpty else {
                return [.fail(ModelError(code: .error, message: "The scripted model has no response left."))]
            }
            return state.responses.removeFirst()
        }
        let cursor = Cursor(steps)
        return AsyncThrowingStream { [self] in
            while let step = cursor.next() {
                switch step {
                case .event(let event):
                    return event
                case .pause(let duration):
                    do {
                        try await Task.sleep(for: duration)
                    } catch {
                        state.withLock { $0.cancelledStreams += 1 }
                        throw error
                    }
                case .fail(let error):
                    throw error
                }
            }
            return nil
        }
    }
}

/// The steps of one response still to play.
private final class Cursor: Sendable {
    private let steps: Mutex<ArraySlice<ScriptedModel.Step>>

    init(_ steps: [ScriptedModel.Step]) {
        self.steps = Mutex(steps[...])
    }

    func next() -> ScriptedModel.Step? {
        steps.withLock { $0.popFirst() }
    }
}

extension ScriptedModel.Step {
    /// Streams `text`.
    static func text(_ text: String) -> Self { .event(.textDelta(text)) }
}

/// The steps that stream a whole tool call as index `index`, its arguments split in two fragments.
func streamedToolCall(_ call: ToolCall, index: Int) -> [ScriptedModel.Step] {
    let middle = call.arguments.index(call.arguments.startIndex, offsetBy: call.arguments.count / 2)
    return [
        .event(.toolCallDelta(ToolCallDelta(index: index, id: call.id, name: call.name))),
        .event(.toolCallDelta(ToolCallDelta(index: index, argumentsFragment: String(call.arguments[..<middle])))),
        .event(.toolCallDelta(ToolCallDelta(index: index, argumentsFragment: String(call.arguments[middle...])))),
    ]
}

/// The steps that end a response: its finish reason, then its usage, as OpenAI sends them.
func responseEnd(_ reason: FinishReason, _ usage: TokenUsage) -> [ScriptedModel.Step] {
    [.event(.finish(reason)), .event(.usage(usage))]
}
