import BedsideAgent
import BedsideCore

/// The tools every test turn offers.
let lookupTools = [
    ToolDefinition(
        name: "search_observations",
        description: "Observations of a patient by code.",
        parameters: .object(["type": .string("object")])
    ),
    ToolDefinition(
        name: "get_patient",
        description: "One patient by id.",
        parameters: .object(["type": .string("object")])
    ),
]

/// A machine for `gpt-test`, with the clinical prompt and the given request limit.
func makeMachine(maxModelRequests: Int = 8) -> AgentMachine {
    AgentMachine(configuration: .init(model: "gpt-test", maxModelRequests: maxModelRequests))
}

extension AgentMachine {
    /// Starts a turn with no history at time zero.
    mutating func start(_ message: String = "Latest HbA1c?") -> [Action] {
        handle(.start(history: [], userMessage: message, tools: lookupTools), at: .zero)
    }

    /// Feeds stream events one by one (all at `time`) and returns every action they produced.
    mutating func stream(_ events: [ModelStreamEvent], at time: Duration = .zero) -> [Action] {
        events.flatMap { handle(.modelEvent($0), at: time) }
    }

    /// Streams `calls` as one response of whole tool calls, ends the stream and returns the
    /// actions of the end.
    mutating func respond(withToolCalls calls: [ToolCall], usage: TokenUsage? = nil, at time: Duration) -> [Action] {
        var events: [ModelStreamEvent] = calls.enumerated().map { index, call in
            .toolCallDelta(ToolCallDelta(index: index, id: call.id, name: call.name, argumentsFragment: call.arguments))
        }
        events.append(.finish(.toolCalls))
        if let usage { events.append(.usage(usage)) }
        _ = stream(events, at: time)
        return handle(.modelStreamEnded, at: time)
    }

    /// Streams `text` as the answer, ends the stream and returns the actions of the whole response.
    mutating func respond(withText text: String, usage: TokenUsage? = nil, at time: Duration) -> [Action] {
        var events: [ModelStreamEvent] = [.textDelta(text), .finish(.stop)]
        if let usage { events.append(.usage(usage)) }
        return stream(events, at: time) + handle(.modelStreamEnded, at: time)
    }
}

extension Array where Element == AgentMachine.Action {
    /// The model requests among the actions.
    var modelRequests: [ModelRequest] {
        compactMap { if case .requestModel(let request) = $0 { request } else { nil } }
    }

    /// The ids of the tools the actions ask to run.
    var toolRuns: [String] {
        compactMap { if case .runTool(let id, _, _) = $0 { id } else { nil } }
    }

    /// The turn end among the actions, if any.
    var turnEnd: AgentMachine.TurnEnd? {
        for case .endTurn(let end) in self { return end }
        return nil
    }

    /// The tool results reported among the actions.
    var toolResults: [AgentMachine.ToolResultReport] {
        compactMap { if case .reportToolResult(let report) = $0 { report } else { nil } }
    }
}

let observationCall = ToolCall(id: "call_a", name: "search_observations", arguments: #"{"code":"4548-4"}"#)
let patientCall = ToolCall(id: "call_b", name: "get_patient", arguments: #"{"id":"p-17"}"#)
