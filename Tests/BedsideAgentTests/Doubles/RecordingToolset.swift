import BedsideCore
import Synchronization

/// A toolset whose tools answer, throw or stall as scripted, and which records every call and
/// how it ended.
final class RecordingToolset: Toolset {
    /// What one tool does when called: waits `delay` (a real sleep that stops on cancellation),
    /// then answers or throws.
    struct Behavior: Sendable {
        var delay: Duration = .zero
        var result: Result<ToolOutput, any Error>

        static func answer(_ content: String, after delay: Duration = .zero) -> Self {
            Behavior(delay: delay, result: .success(ToolOutput(content: content)))
        }

        static func fail(_ error: any Error, after delay: Duration = .zero) -> Self {
            Behavior(delay: delay, result: .failure(error))
        }
    }

    /// One thing that happened to a call, in the order it happened.
    enum Entry: Sendable, Hashable {
        case started(String)
        case finished(String)
        case cancelled(String)
    }

    /// One call the toolset received.
    struct Call: Sendable, Hashable {
        var name: String
        var arguments: JSONValue
    }

    private struct State {
        var calls: [Call] = []
        var log: [Entry] = []
    }

    private let tools: [String: Behavior]
    private let definitionsError: (any Error)?
    private let state = Mutex(State())

    init(_ tools: [String: Behavior], definitionsError: (any Error)? = nil) {
        self.tools = tools
        self.definitionsError = definitionsError
    }

    /// The calls received, in order.
    var calls: [Call] { state.withLock { $0.calls } }

    /// When each call started and how it ended, in order.
    var log: [Entry] { state.withLock { $0.log } }

    func definitions() async throws -> [ToolDefinition] {
        if let definitionsError { throw definitionsError }
        return lookupTools
    }

    func call(_ name: String, arguments: JSONValue) async throws -> ToolOutput {
        state.withLock {
            $0.calls.append(Call(name: name, arguments: arguments))
            $0.log.append(.started(name))
        }
        guard let behavior = tools[name] else { throw ToolFailure(message: "no behaviour for \(name)") }
        do {
            try await Task.sleep(for: behavior.delay)
        } catch {
            state.withLock { $0.log.append(.cancelled(name)) }
            throw error
        }
        state.withLock { $0.log.append(.finished(name)) }
        return try behavior.result.get()
    }
}

/// An error a scripted tool throws.
struct ToolFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
