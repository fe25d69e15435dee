public import BedsideCore
import Foundation

/// A deterministic ``LanguageModel`` that answers common clinical questions without any model
/// endpoint: it calls the FHIR tools (``FHIRTools``) the way a real model would and answers from
/// their results, streamed in small deltas, naming the records it used.
///
/// It understands questions about one patient, named in the question or in the conversation:
/// conditions, medications, allergies, immunizations, encounters, latest labs or vitals, one
/// lab or vital over time (HbA1c, glucose, cholesterol, blood pressure, weight, …), and a
/// summary. Anything else gets a plain statement of what it can do and how to configure a
/// real model. It is labelled `offline` (model `bedside-offline`) wherever it shows.
public struct OfflineClinicalModel: LanguageModel {
    public static let name = "bedside-offline"

    /// The pause between two deltas of an answer, so that it streams like a model's.
    public let deltaInterval: Duration

    public init(deltaInterval: Duration = .milliseconds(8)) {
        self.deltaInterval = deltaInterval
    }

    public var modelName: String { Self.name }
    public var providerName: String { "offline" }

    public func stream(_ request: ModelRequest) -> AsyncThrowingStream<ModelStreamEvent, any Error> {
        let step = OfflinePlanner(request: request).next()
        let promptTokens = Self.estimateTokens(request.messages)
        let interval = deltaInterval
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    switch step {
                    case .call(let name, let arguments, let id):
                        continuation.yield(
                            .toolCallDelta(ToolCallDelta(index: 0, id: id, name: name, argumentsFragment: FHIRJSON.text(arguments)))
                        )
                        continuation.yield(.finish(.toolCalls))
                        continuation.yield(.usage(TokenUsage(promptTokens: promptTokens, completionTokens: 12)))
                    case .answer(let text):
                        for (index, piece) in Self.pieces(of: text).enumerated() {
                            if index > 0, interval > .zero { try await Task.sleep(for: interval) }
                            continuation.yield(.textDelta(piece))
                        }
                        continuation.yield(.finish(.stop))
                        continuation.yield(
                            .usage(TokenUsage(promptTokens: promptTokens, completionTokens: Int64(max(1, text.utf8.count / 4))))
                        )
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// About four characters a token, as for English text with common tokenizers.
    static func estimateTokens(_ messages: [ChatMessage]) -> Int64 {
        var characters = 0
        for message in messages {
            switch message {
            case .system(let text), .user(let text): characters += text.utf8.count
            case .assistant(let text, let calls):
                characters += (text?.utf8.count ?? 0) + calls.reduce(0) { $0 + $1.arguments.utf8.count + 20 }
            case .tool(_, let content, _): characters += content.utf8.count
            }
        }
        return Int64(max(1, characters / 4))
    }

    /// The answer cut into deltas of about three words, keeping line breaks with their words.
    static func pieces(of text: String) -> [String] {
        var pieces: [String] = []
        var current = ""
        var words = 0
        for character in text {
            current.append(character)
            if character == " " || character == "\n" {
                words += 1
                if words == 3 || character == "\n" {
                    pieces.append(current)
                    current = ""
                    words = 0
                }
            }
        }
        if !current.isEmpty { pieces.append(current) }
        return pieces
    }
}
