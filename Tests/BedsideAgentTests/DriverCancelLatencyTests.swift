import BedsideAgent
import BedsideCore
import Testing

@Suite struct DriverCancelLatencyTests {
    @Test func cancelDuringTheModelStreamEndsTheTurnWithin100Milliseconds() async throws {
        let model = ScriptedModel([
            [.text("HbA1c was "), .event(.usage(TokenUsage(promptTokens: 40, completionTokens: 3))), .pause(.seconds(30))]
        ])
        let log = EventLog()
        let driver = makeDriver(model, RecordingToolset([:]))
        let turn = Task { await driver.run(into: log) }
        try await waitUntil { log.labels.contains("text delta HbA1c was ") }
        let cancelledAt = ContinuousClock.now
        turn.cancel()
        let end = await turn.value
        let elapsed = cancelledAt.duration(to: .now)
        #expect(elapsed < .milliseconds(100))
        #expect(try #require(log.turnEndedAt) < cancelledAt + .milliseconds(100))
        #expect(end.outcome == .cancelled(reason: "cancelled_by_user"))
        #expect(end.usage == TokenUsage(promptTokens: 40, completionTokens: 3))
        #expect(model.cancelledStreams == 1)
        #expect(
            log.labels == [
                "model call started",
                "text delta HbA1c was ",
                "final text (cancelled) HbA1c was ",
                "turn ended cancelled cancelled_by_user",
            ]
        )
        // Nothing follows the turn's end, even after the stopped stream has had time to speak.
        try await Task.sleep(for: .milliseconds(50))
        #expect(log.all.count == 4)
    }

    @Test func cancelWhileASlowToolRunsCancelsTheTool() async throws {
        let model = ScriptedModel([
            [.text("Looking up the patient.")] + streamedToolCall(patientCall, index: 0) + responseEnd(.toolCalls, .zero)
        ])
        let tools = RecordingToolset(["get_patient": .answer("{}", after: .seconds(30))])
        let log = EventLog()
        let driver = makeDriver(model, tools)
        let turn = Task { await driver.run(into: log, cancellationReason: { "shutdown" }) }
        try await waitUntil { tools.log == [.started("get_patient")] }
        let cancelledAt = ContinuousClock.now
        turn.cancel()
        let end = await turn.value
        #expect(cancelledAt.duration(to: .now) < .milliseconds(100))
        #expect(tools.log == [.started("get_patient"), .cancelled("get_patient")])
        #expect(end.outcome == .cancelled(reason: "shutdown"))
        #expect(
            log.labels.suffix(4) == [
                "tool call started call_b",
                "tool call ended call_b (error)",
                "final text (cancelled) Looking up the patient.",
                "turn ended cancelled shutdown",
            ]
        )
    }

    @Test func aTurnCancelledBeforeItStartsEndsCancelledWithoutAModelRequest() async {
        let model = ScriptedModel([])
        let log = EventLog()
        let driver = makeDriver(model, RecordingToolset([:]))
        let turn = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await driver.run(into: log)
        }
        let end = await turn.value
        #expect(end.outcome == .cancelled(reason: "cancelled_by_user"))
        #expect(log.labels == ["turn ended cancelled cancelled_by_user"])
        #expect(model.requests.isEmpty)
    }
}
