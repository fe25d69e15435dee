import BedsideAgent
import BedsideCore
import Testing

/// A driver for `gpt-test` over the given doubles.
func makeDriver(
    _ model: ScriptedModel,
    _ tools: RecordingToolset,
    toolTimeout: Duration = .seconds(30),
    turnTimeout: Duration = .seconds(300),
    maxModelRequests: Int = 8
) -> AgentDriver {
    AgentDriver(
        configuration: .init(model: "gpt-test", maxModelRequests: maxModelRequests),
        model: model,
        tools: tools,
        toolTimeout: toolTimeout,
        turnTimeout: turnTimeout
    )
}

extension AgentDriver {
    /// Runs a turn asking the usual question, with no history, into `log`.
    func run(
        into log: EventLog,
        cancellationReason: @escaping @Sendable () -> String = { "cancelled_by_user" }
    ) async
        -> AgentMachine.TurnEnd
    {
        await run(
            history: [],
            userMessage: "Latest HbA1c?",
            messageID: "m-1",
            cancellationReason: cancellationReason,
            emit: log.emit
        )
    }
}

/// Waits (polling every 2 ms, for at most 20 s: the whole suite runs in parallel on few cores)
/// until `condition` holds.
func waitUntil(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(90)
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("the condition did not hold within 90 s")
            return
        }
        try await Task.sleep(for: .milliseconds(2))
    }
}
