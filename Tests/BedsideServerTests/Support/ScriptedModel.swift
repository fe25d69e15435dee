import BedsideCore
import Synchronization

/// A `LanguageModel` that plays scripted responses in order and records every request: the
/// test double at the model seam for live agent turns.
final class ScriptedModel: LanguageModel, Sendable {
    enum Step: Sendable {
        case event(ModelStreamEvent)
        case pause(Duration)
        case fail(ModelError)
    }

    let modelName = "scripted-model"
    let providerName = "scripted"
    private let responses: Mutex<[[Step]]>
    private let received = Mutex<[ModelRequest]>([])

    init(_ responses: [[Step]]) {
        self.responses = Mutex(responses)
    }

    var requests: [ModelRequest] { received.withLock { $0 } }

    func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        received.withLock { $0.append(request) }
        let steps = responses.withLock { $0.isEmpty ? [] : $0.removeFirst() }
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for step in steps {
                        switch step {
                        case .event(let event): continuation.yield(event)
                        case .pause(let duration): try await Task.sleep(for: duration)
                        case .fail(let error): throw error
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// A response that streams `text` in `pieces` deltas, then usage and `stop`.
    static func answer(_ text: String, pieces: Int = 3, usage: TokenUsage, pause: Duration = .zero) -> [Step] {
        let size = max(1, (text.count + pieces - 1) / pieces)
        var steps: [Step] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            if pause > .zero { steps.append(.pause(pause)) }
            steps.append(.event(.textDelta(String(rest.prefix(size)))))
            rest = rest.dropFirst(size)
        }
        return steps + [.event(.finish(FinishReason(rawValue: "stop"))), .event(.usage(usage))]
    }
}

/// A `Toolset` with one tool, `count_conditions`, that answers from a fixed table.
struct ConditionTools: Toolset {
    func definitions() async throws -> [ToolDefinition] {
        [
            ToolDefinition(
                name: "count_conditions",
                description: "Counts a patient's active conditions.",
                parameters: ["type": "object", "properties": ["patient": ["type": "string"]]]
            )
        ]
    }

    func call(_ name: String, arguments: JSONValue) async throws -> ToolOutput {
        let patient = arguments["patient"]?.stringValue ?? "?"
        return ToolOutput(content: #"{"patient":"\#(patient)","active_conditions":2}"#, isError: false)
    }
}
