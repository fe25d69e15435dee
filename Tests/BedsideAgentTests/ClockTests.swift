import BedsideAgent
import BedsideCore
import BedsideTestSupport
import Testing

/// The turn and tool timeouts wait on the driver's clock: on a ``TestClock`` they fire only
/// when the test moves the clock, and at once when it does.
@Suite struct ClockTests {
    static func driver(_ model: ScriptedModel, _ tools: RecordingToolset, clock: TestClock) -> AgentDriver {
        AgentDriver(
            configuration: .init(model: "gpt-test"),
            model: model,
            tools: tools,
            toolTimeout: .seconds(60),
            turnTimeout: .seconds(300),
            clock: clock
        )
    }

    @Test func aToolIsStoppedWhenTheClockPassesTheToolTimeout() async throws {
        let model = ScriptedModel([
            streamedToolCall(patientCall, index: 0) + responseEnd(.toolCalls, .zero),
            [.text("The patient record could not be retrieved.")] + responseEnd(.stop, .zero),
        ])
        let tools = RecordingToolset(["get_patient": .answer("{}", after: .seconds(600))])
        let clock = TestClock()
        let log = EventLog()
        let turn = Task { await Self.driver(model, tools, clock: clock).run(into: log) }
        try await clock.waitForSleeper { $0 == .seconds(60) }
        #expect(tools.log == [.started("get_patient")])
        clock.advance(by: .seconds(60))
        let end = await turn.value
        #expect(end.outcome == .completed)
        let message = "The tool get_patient did not answer within 60 s and was stopped."
        #expect(model.requests.last?.messages.last == .tool(callID: "call_b", content: message, isError: true))
        #expect(tools.log == [.started("get_patient"), .cancelled("get_patient")])
    }

    @Test func aTurnEndsFailedWhenTheClockPassesTheTurnTimeout() async throws {
        let model = ScriptedModel([[.text("HbA1c "), .pause(.seconds(600))]])
        let clock = TestClock()
        let turn = Task { await Self.driver(model, RecordingToolset([:]), clock: clock).run(into: EventLog()) }
        try await clock.waitForSleeper { $0 == .seconds(300) }
        clock.advance(by: .seconds(300))
        let end = await turn.value
        #expect(end.outcome == .failed(.turnTimedOut(limit: .seconds(300))))
        #expect(model.cancelledStreams == 1)
    }
}
